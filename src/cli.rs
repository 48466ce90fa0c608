//! The command line, in QEMU's spelling: `-bios FILE`, `-m 128M`,
//! `-serial stdio`, ... Every long option also works as `--option`.

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "crane86",
    version,
    about = "crane86: a full-system x86 PC emulator",
    long_about = "crane86: a full-system x86 PC emulator.\n\nOptions use QEMU's spelling with one dash (-bios, -serial stdio, -m 256M, ...); two dashes work too.\nWith no options, crane86 boots its own BIOS and the built-in demo disk."
)]
pub struct Cli {
    /// BIOS image (a multiple of 64 KiB, at most 16 MiB); default: the built-in BIOS.
    #[arg(long, value_name = "FILE")]
    pub bios: Option<String>,

    /// Guest RAM: a number of MiB, or with a suffix (K, M, G), or size=N.
    #[arg(short = 'm', long = "m", value_name = "SIZE", default_value = "128M")]
    pub memory: String,

    /// Where a serial port goes: stdio, file:PATH, none or null. Repeat for
    /// COM2 (0x2F8, IRQ 3), COM3 (0x3E8, IRQ 4), COM4 (0x2E8, IRQ 3).
    #[arg(long, value_name = "DEV")]
    pub serial: Vec<String>,

    /// No display; COM1 on the terminal.
    #[arg(long)]
    pub nographic: bool,

    /// Display: window (the default when a display is available) or none.
    #[arg(long, value_name = "TYPE")]
    pub display: Option<String>,

    /// Write the guest's screen as a PNG: at exit, or at -screenshot-at.
    #[arg(long, value_name = "PATH.png")]
    pub screenshot: Option<String>,

    /// Take the -screenshot this many seconds after start.
    #[arg(long = "screenshot-at", value_name = "SECONDS")]
    pub screenshot_at: Option<f64>,

    /// Monitor: only `none` is supported (accepted for QEMU compatibility).
    #[arg(long, value_name = "DEV")]
    pub monitor: Option<String>,

    /// Extra device: isa-debug-exit,iobase=0xf4,iosize=0x04.
    #[arg(long, value_name = "DEV")]
    pub device: Vec<String>,

    /// Exit instead of rebooting (triple fault, reset requests).
    #[arg(long = "no-reboot")]
    pub no_reboot: bool,

    /// Execution engine: jit (Cranelift translation of hot blocks, the
    /// default; `tcg` is an alias) or interp (the reference interpreter).
    #[arg(long, value_name = "ACCEL", default_value = "jit")]
    pub accel: String,

    /// Boot this kernel directly: a Linux bzImage or a multiboot kernel.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<String>,

    /// Initial ramdisk for -kernel (multiboot: modules, comma-separated,
    /// each "path args").
    #[arg(long, value_name = "FILE[,FILE...]")]
    pub initrd: Option<String>,

    /// Kernel command line for -kernel.
    #[arg(long, value_name = "CMDLINE", allow_hyphen_values = true)]
    pub append: Option<String>,

    /// Primary master hard disk image (raw).
    #[arg(long, value_name = "FILE")]
    pub hda: Option<String>,

    /// Drive: file=FILE[,format=raw][,if=ide][,readonly=on].
    #[arg(long, value_name = "SPEC")]
    pub drive: Vec<String>,

    /// Deterministic time: `shift=N` advances the virtual clock 2^N ns per
    /// guest instruction (QEMU's spelling); `auto` follows the host clock.
    #[arg(long, value_name = "shift=N")]
    pub icount: Option<String>,

    /// Debug output on stderr, comma-separated: stats (instructions and
    /// MIPS at exit), jit (translator statistics), int (every interrupt and
    /// exception), debugcon (port 0xE9 output).
    #[arg(short = 'd', value_name = "ITEMS")]
    pub debug: Option<String>,
}

/// Options QEMU spells with one dash and clap wants with two.
const LONG: &[&str] = &[
    "bios",
    "serial",
    "nographic",
    "display",
    "monitor",
    "device",
    "no-reboot",
    "accel",
    "hda",
    "drive",
    "m",
];

/// Turns QEMU-style `-option` into `--option` so clap can parse it.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut expecting_value = false;
    for a in args {
        if !expecting_value && a.starts_with('-') && !a.starts_with("--") && a.len() > 2 {
            let name = a[1..].split('=').next().unwrap_or("");
            // Unknown QEMU-style options are doubled too, so the error names
            // the whole option rather than its first letter.
            if LONG.contains(&name) || name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                out.push(format!("-{a}"));
                expecting_value = LONG.contains(&name)
                    && !a.contains('=')
                    && !matches!(name, "nographic" | "no-reboot");
                continue;
            }
        }
        expecting_value = false;
        out.push(a);
    }
    out
}

/// Parses QEMU's -m syntax into bytes.
pub fn parse_memory(s: &str) -> Result<u64, String> {
    let s = s.strip_prefix("size=").unwrap_or(s);
    let s = s.split(',').next().unwrap_or(s).trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&s[..s.len() - 1], 1 << 20),
        Some('g' | 'G') => (&s[..s.len() - 1], 1 << 30),
        Some('t' | 'T') => (&s[..s.len() - 1], 1 << 40),
        // A plain number is MiB, as in QEMU.
        _ => (s, 1 << 20),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("-m {s}: not a memory size (try 128M or 1G)"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("-m {s}: not a memory size (try 128M or 1G)"));
    }
    let bytes = n * mult as f64;
    if bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("-m {s}: too large"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_single_dash_options() {
        let v = normalize_args(
            [
                "crane86",
                "-bios",
                "x.bin",
                "-nographic",
                "-serial",
                "stdio",
                "-m",
                "64",
                "-no-reboot",
                "-device",
                "isa-debug-exit,iobase=0xf4",
            ]
            .map(String::from),
        );
        assert_eq!(
            v,
            [
                "crane86",
                "--bios",
                "x.bin",
                "--nographic",
                "--serial",
                "stdio",
                "-m",
                "64",
                "--no-reboot",
                "--device",
                "isa-debug-exit,iobase=0xf4"
            ]
        );
        // A value that looks like an option is left alone.
        let v = normalize_args(["crane86", "-serial", "-bios"].map(String::from));
        assert_eq!(v, ["crane86", "--serial", "-bios"]);
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("128"), Ok(128 << 20));
        assert_eq!(parse_memory("1G"), Ok(1 << 30));
        assert_eq!(parse_memory("512k"), Ok(512 << 10));
        assert_eq!(parse_memory("size=64M"), Ok(64 << 20));
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("-5").is_err());
    }
}
