//! Turns the parsed command line into a checked machine configuration:
//! every file is read and every value validated here, so bad input ends with
//! one clear line before the machine starts.

use crate::cli::{parse_memory, Cli};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SerialTarget {
    Stdio,
    File(PathBuf),
    None,
}

/// How the guest's screen is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayChoice {
    /// A desktop window (falls back to headless when none can open).
    Window,
    None,
}

/// `-screenshot PATH.png [-screenshot-at SECONDS]`.
pub struct Screenshot {
    pub path: PathBuf,
    /// When to take it; `None` means at exit.
    pub at: Option<std::time::Duration>,
}

pub struct Config {
    pub ram_bytes: u64,
    pub bios: Vec<u8>,
    pub serial: SerialTarget,
    /// COM2..COM4, when more `-serial` options were given.
    pub extra_serial: Vec<SerialTarget>,
    pub debug_exit: Option<(u16, u16)>,
    pub no_reboot: bool,
    pub stats: bool,
    pub debugcon_stderr: bool,
    /// `-d int`: log interrupts and exceptions.
    pub trace_int: bool,
    /// `-accel jit` (or its alias `tcg`): compile hot blocks with Cranelift.
    pub jit: bool,
    /// `-accel jit,threshold=N`: runs of a block before it is compiled.
    pub jit_threshold: Option<u32>,
    /// `-accel jit,tb-size=MiB` (QEMU's spelling): translated-code cache.
    pub jit_code_mib: Option<u32>,
    /// `-d jit`: translator statistics at exit.
    pub jit_stats: bool,
    /// `-d profile`: where the guest spends its time, sampled.
    pub profile: bool,
    pub display: DisplayChoice,
    pub screenshot: Option<Screenshot>,
    /// `-icount shift=N`: virtual time advances 2^N ns per instruction.
    pub icount_shift: Option<u32>,
    /// `-kernel`: what the loader puts into RAM before the BIOS runs.
    pub direct_boot: Option<crate::loader::BootPlan>,
    /// Raw image of the primary master disk, if any.
    pub disk: Option<DiskConfig>,
}

pub struct DiskConfig {
    pub path: Option<PathBuf>,
    pub read_only: bool,
    /// The built-in demo disk (when no boot media was given).
    pub builtin: Option<&'static [u8]>,
}

fn parse_int(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("{what} {path}: cannot read"))
}

impl Config {
    pub fn from_cli(cli: &Cli) -> Result<Self> {
        let ram_bytes = parse_memory(&cli.memory).map_err(anyhow::Error::msg)?;
        let bios = match &cli.bios {
            Some(p) => read_file("-bios", p)?,
            None => crane86_firmware::BIOS.to_vec(),
        };
        let parse_serial = |s: &str| -> Result<SerialTarget> {
            Ok(match s {
                "stdio" | "mon:stdio" => SerialTarget::Stdio,
                "none" | "null" => SerialTarget::None,
                s if s.starts_with("file:") => SerialTarget::File(PathBuf::from(&s[5..])),
                s => bail!("-serial {s}: unsupported (use stdio, file:PATH or none)"),
            })
        };
        if cli.serial.len() > 4 {
            bail!("-serial: at most four serial ports (COM1-COM4)");
        }
        let mut serials = cli
            .serial
            .iter()
            .map(|s| parse_serial(s))
            .collect::<Result<Vec<_>>>()?;
        if serials.is_empty() {
            serials.push(SerialTarget::Stdio);
        }
        if serials
            .iter()
            .filter(|s| **s == SerialTarget::Stdio)
            .count()
            > 1
        {
            bail!("-serial stdio: only one serial port can use the terminal");
        }
        let serial = serials.remove(0);
        let extra_serial = serials;
        match cli.monitor.as_deref() {
            None | Some("none") => {}
            Some(m) => bail!("-monitor {m}: unsupported (only -monitor none)"),
        }
        let display = match (cli.nographic, cli.display.as_deref()) {
            (true, _) | (_, Some("none")) => DisplayChoice::None,
            // No display server: headless without a word, as a CLI tool should.
            (false, None) if !display_server_present() => DisplayChoice::None,
            (false, None) | (_, Some("window" | "sdl" | "gtk" | "default")) => {
                DisplayChoice::Window
            }
            (_, Some(d)) => bail!("-display {d}: unsupported (use window or none)"),
        };
        let screenshot = match &cli.screenshot {
            None => {
                if cli.screenshot_at.is_some() {
                    bail!("-screenshot-at needs -screenshot PATH.png");
                }
                None
            }
            Some(p) => {
                let path = PathBuf::from(p);
                // Fail now, not after a long run, if the file cannot be written.
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("-screenshot {}: cannot write", path.display()))?;
                let at = match cli.screenshot_at {
                    Some(s) if s.is_finite() && s >= 0.0 => {
                        Some(std::time::Duration::from_secs_f64(s))
                    }
                    Some(s) => bail!("-screenshot-at {s}: not a number of seconds"),
                    None => None,
                };
                Some(Screenshot { path, at })
            }
        };
        let (jit, jit_threshold, jit_code_mib) = parse_accel(&cli.accel)?;
        let mut debug_exit = None;
        for dev in &cli.device {
            let mut parts = dev.split(',');
            match parts.next() {
                Some("isa-debug-exit") => {
                    let (mut base, mut size) = (0x501u16, 2u16);
                    for p in parts {
                        let (k, v) = p
                            .split_once('=')
                            .with_context(|| format!("-device {dev}: bad property {p}"))?;
                        let n = parse_int(v)
                            .filter(|n| *n <= 0xFFFF)
                            .with_context(|| format!("-device {dev}: bad value {v}"))?;
                        match k {
                            "iobase" => base = n as u16,
                            "iosize" => size = n as u16,
                            _ => bail!("-device {dev}: unknown property {k}"),
                        }
                    }
                    debug_exit = Some((base, size));
                }
                _ => bail!("-device {dev}: unsupported device (supported: isa-debug-exit)"),
            }
        }
        let mut disk = None;
        if let Some(h) = &cli.hda {
            disk = Some(DiskConfig {
                path: Some(PathBuf::from(h)),
                read_only: false,
                builtin: None,
            });
        }
        for spec in &cli.drive {
            let mut file = None;
            let mut ro = false;
            for p in spec.split(',') {
                let (k, v) = p
                    .split_once('=')
                    .with_context(|| format!("-drive {spec}: bad property {p}"))?;
                match (k, v) {
                    ("file", f) => file = Some(PathBuf::from(f)),
                    ("format", "raw") | ("if", "ide") | ("media", "disk") | ("index", "0") => {}
                    ("readonly", "on" | "true") => ro = true,
                    ("readonly", "off" | "false") => ro = false,
                    _ => bail!("-drive {spec}: unsupported {k}={v} (raw images on IDE only)"),
                }
            }
            let file = file.with_context(|| format!("-drive {spec}: no file="))?;
            if disk.is_some() {
                bail!("-drive {spec}: only one disk (the primary master) is supported");
            }
            disk = Some(DiskConfig {
                path: Some(file),
                read_only: ro,
                builtin: None,
            });
        }
        if let Some(d) = &disk {
            let p = d.path.as_ref().expect("user disks have a path");
            let meta = std::fs::metadata(p)
                .with_context(|| format!("disk image {}: cannot open", p.display()))?;
            if meta.len() == 0 {
                bail!("disk image {}: empty file", p.display());
            }
        }
        let direct_boot = match &cli.kernel {
            Some(k) => Some(
                crate::loader::prepare_files(
                    std::path::Path::new(k),
                    cli.initrd.as_deref(),
                    cli.append.as_deref().unwrap_or(""),
                    ram_bytes,
                )
                .map_err(anyhow::Error::msg)?,
            ),
            None => {
                if cli.initrd.is_some() || cli.append.is_some() {
                    bail!("-initrd and -append need -kernel");
                }
                None
            }
        };
        // No boot media at all: boot the built-in demo disk.
        if disk.is_none() && cli.bios.is_none() && direct_boot.is_none() {
            disk = Some(DiskConfig {
                path: None,
                read_only: true,
                builtin: Some(crane86_firmware::DEMO_DISK),
            });
        }
        let icount_shift = match cli.icount.as_deref() {
            None => None,
            Some(spec) => {
                let mut shift = None;
                for p in spec.split(',') {
                    let v = p.strip_prefix("shift=").unwrap_or(p);
                    match v {
                        // "auto" adapts to the host's speed: that is the host clock.
                        "auto" => shift = None,
                        n => match n.parse::<u32>() {
                            Ok(n) if n <= 10 => shift = Some(n),
                            _ => bail!("-icount {spec}: shift must be 0..=10 or auto"),
                        },
                    }
                }
                shift
            }
        };
        let debug = cli.debug.as_deref().unwrap_or("");
        Ok(Config {
            ram_bytes,
            bios,
            serial,
            extra_serial,
            debug_exit,
            no_reboot: cli.no_reboot,
            stats: debug.split(',').any(|d| d == "stats"),
            debugcon_stderr: debug.split(',').any(|d| d == "debugcon"),
            trace_int: debug.split(',').any(|d| d == "int"),
            jit,
            jit_threshold,
            jit_code_mib,
            jit_stats: debug.split(',').any(|d| d == "jit"),
            profile: debug.split(',').any(|d| d == "profile"),
            icount_shift,
            display,
            screenshot,
            direct_boot,
            disk,
        })
    }
}

/// Whether a window could be opened at all (an X11 or Wayland server).
fn display_server_present() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

/// `-accel NAME[,PROP=VALUE...]`: the engine, the JIT's compile threshold
/// and its code cache size. QEMU's `thread=single|multi` is accepted (one
/// vCPU runs on one thread either way).
fn parse_accel(arg: &str) -> Result<(bool, Option<u32>, Option<u32>)> {
    let mut parts = arg.split(',');
    let jit = match parts.next().unwrap_or("") {
        "interp" => false,
        "jit" | "tcg" => true,
        a => bail!("-accel {a}: unknown accelerator (use jit, tcg or interp)"),
    };
    let (mut threshold, mut tb_mib) = (None, None);
    for prop in parts {
        let (k, v) = prop.split_once('=').unwrap_or((prop, ""));
        let number = || -> Result<u32> {
            v.parse()
                .ok()
                .with_context(|| format!("-accel {k}={v}: not a number"))
        };
        match k {
            "thread" if v == "single" || v == "multi" => {}
            "threshold" if jit => threshold = Some(number()?),
            "tb-size" if jit => match number()? {
                0 => bail!("-accel tb-size=0: the code cache needs at least 1 MiB"),
                n if n > 4096 => bail!("-accel tb-size={n}: at most 4096 MiB"),
                n => tb_mib = Some(n),
            },
            _ => bail!("-accel {arg}: unknown property {prop:?} (jit takes threshold=N, tb-size=MiB, thread=single)"),
        }
    }
    Ok((jit, threshold, tb_mib))
}
