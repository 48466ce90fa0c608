//! The runner of crane86's conformance test ROMs.
//!
//! Every `roms/NAME.asm` is a NASM source for a 64 KiB `-bios` image; next
//! to it `roms/NAME.expected` holds the exact serial output the ROM must
//! print. The runner
//!
//! 1. finds `nasm` (`$NASM`, else `nasm` on `PATH`),
//! 2. assembles each ROM into `<target dir>/test-roms/NAME.bin` with
//!    `test-roms/include/`, `test-roms/vectors/` and `test-roms/roms/` on
//!    the include path,
//! 3. runs the emulator as
//!    `EMU -bios NAME.bin -nographic -serial stdio -monitor none
//!    -device isa-debug-exit,iobase=0xf4,iosize=0x04` with a timeout,
//! 4. compares its standard output with `NAME.expected` byte for byte and
//!    its exit status with 1 (the status of a ROM that wrote 0 to the
//!    isa-debug-exit port, i.e. `PASS`).
//!
//! A ROM whose header comment holds a `; rom-disk: SIZE` line gets a fresh
//! raw disk image of SIZE bytes as the primary IDE master for each run,
//! filled with [`disk_pattern`]; `; rom-disk-written: LBA[-LBA], ...` makes
//! the runner check afterwards that exactly those sectors were rewritten
//! with [`disk_written_pattern`] (see [`RomOptions`] and [`DiskImage`]).
//!
//! The emulator is chosen by [`Emulator::from_env`]:
//! `$CRANE86_EMULATOR` (any command, e.g. `qemu-system-i386`), else
//! `$CRANE86_BIN` (a path to a crane86 binary), else this workspace's
//! `crane86` binary, built once with `cargo build --release --bin crane86`.
//!
//! Other environment variables: `CRANE86_ROM_TIMEOUT` (seconds per ROM,
//! default 60) and `CRANE86_ROMS` (a comma-separated list of ROM names to
//! run instead of all of them).

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Default time a ROM may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The exit status of an emulator whose guest wrote 0 to isa-debug-exit.
pub const PASS_STATUS: i32 = 1;

/// The message given when `nasm` cannot be found.
pub const NASM_MISSING: &str = "nasm not found: install it (apt-get install nasm)";

/// The command-line arguments (after the program name) that run `bios`.
pub fn emulator_args(bios: &Path) -> Vec<String> {
    vec![
        "-bios".into(),
        bios.display().to_string(),
        "-nographic".into(),
        "-serial".into(),
        "stdio".into(),
        "-monitor".into(),
        "none".into(),
        "-device".into(),
        "isa-debug-exit,iobase=0xf4,iosize=0x04".into(),
    ]
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// This crate's directory (`test-roms/`).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` or `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                workspace_root().join(dir)
            }
        }
        None => workspace_root().join("target"),
    }
}

/// Where assembled ROM images go.
pub fn rom_out_dir() -> PathBuf {
    target_dir().join("test-roms")
}

/// Looks `name` up on `PATH` (or takes it as is when it holds a `/`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let candidate = Path::new(name);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Finds `nasm`: `$NASM` if set, else `nasm` on `PATH`.
pub fn find_nasm() -> Result<PathBuf, String> {
    let name = std::env::var("NASM").unwrap_or_else(|_| "nasm".into());
    find_program(&name).ok_or_else(|| NASM_MISSING.to_string())
}

/// One conformance ROM: its source and its expected output.
#[derive(Clone, Debug)]
pub struct Rom {
    pub name: String,
    pub source: PathBuf,
    pub expected: PathBuf,
}

/// Every `*.asm` in `dir` (not recursive), sorted by name.
pub fn discover_roms(dir: &Path) -> Result<Vec<Rom>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut roms = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|ext| ext == "asm") && path.is_file() {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            roms.push(Rom {
                expected: path.with_extension("expected"),
                source: path,
                name,
            });
        }
    }
    roms.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roms)
}

/// The ROMs of this crate, narrowed to `$CRANE86_ROMS` when that is set.
pub fn selected_roms() -> Result<Vec<Rom>, String> {
    let all = discover_roms(&crate_dir().join("roms"))?;
    let Ok(filter) = std::env::var("CRANE86_ROMS") else {
        return Ok(all);
    };
    let wanted: Vec<&str> = filter
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for name in &wanted {
        if !all.iter().any(|r| r.name == *name) {
            return Err(format!("CRANE86_ROMS names an unknown ROM: {name}"));
        }
    }
    Ok(all
        .into_iter()
        .filter(|r| wanted.contains(&r.name.as_str()))
        .collect())
}

/// A number no other call in this process gets: with the process id it
/// makes private file names (two test suites run the same ROMs at once).
fn next_seq() -> u64 {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Bytes per disk sector.
pub const SECTOR_SIZE: usize = 512;

/// What a ROM's header comment asks of the runner.
///
/// Directives are lines of the leading comment block (the `;` lines before
/// the first other line) of the form `; rom-NAME: VALUE`:
///
/// - `; rom-disk: SIZE` — attach a fresh raw disk image of SIZE bytes as
///   the primary IDE master (`-drive file=IMG,format=raw,if=ide,index=0`).
///   SIZE is a number with an optional `KiB` or `MiB` suffix and must be a
///   non-zero multiple of 512. Sector *n* of the image starts as
///   [`disk_pattern`]`(n)`.
/// - `; rom-disk-written: LIST` — after the run, the sectors in LIST (comma
///   separated LBAs or inclusive `FIRST-LAST` ranges) must hold
///   [`disk_written_pattern`] and every other sector must still hold
///   [`disk_pattern`]. Needs `rom-disk`; may appear more than once.
///
/// Any other `rom-` directive is an error, so that a misspelt one is not
/// silently ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RomOptions {
    pub disk: Option<DiskSpec>,
}

/// A disk image a ROM asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskSpec {
    /// Size in sectors.
    pub sectors: u64,
    /// Inclusive ranges of sectors the ROM must have rewritten.
    pub written: Vec<(u64, u64)>,
}

impl DiskSpec {
    /// True when `lba` is one of the sectors the ROM must have rewritten.
    pub fn is_written(&self, lba: u64) -> bool {
        self.written.iter().any(|&(a, b)| (a..=b).contains(&lba))
    }
}

impl RomOptions {
    /// Reads the directives of `rom`'s source.
    pub fn of(rom: &Rom) -> Result<RomOptions, String> {
        let text = std::fs::read_to_string(&rom.source)
            .map_err(|e| format!("cannot read {}: {e}", rom.source.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", rom.source.display()))
    }

    /// Reads the directives in the leading comment block of a ROM source.
    pub fn parse(source: &str) -> Result<RomOptions, String> {
        let mut size = None;
        let mut written = Vec::new();
        for (i, line) in source.lines().enumerate() {
            let Some(comment) = line.trim_start().strip_prefix(';') else {
                break;
            };
            let Some(directive) = comment.trim().strip_prefix("rom-") else {
                continue;
            };
            let Some((key, value)) = directive.split_once(':') else {
                continue;
            };
            let at = |e: String| format!("line {}: {e}", i + 1);
            let value = value.trim();
            match key.trim() {
                "disk" => {
                    if size.is_some() {
                        return Err(at("rom-disk given twice".into()));
                    }
                    size = Some(parse_disk_size(value).map_err(at)?);
                }
                "disk-written" => written.extend(parse_lba_list(value).map_err(at)?),
                other => return Err(at(format!("unknown directive rom-{other}"))),
            }
        }
        let Some(bytes) = size else {
            if written.is_empty() {
                return Ok(RomOptions::default());
            }
            return Err("rom-disk-written without rom-disk".into());
        };
        let sectors = bytes / SECTOR_SIZE as u64;
        if let Some(&(_, last)) = written.iter().find(|&&(_, b)| b >= sectors) {
            return Err(format!(
                "rom-disk-written: sector {last} is beyond the {sectors}-sector disk"
            ));
        }
        Ok(RomOptions {
            disk: Some(DiskSpec { sectors, written }),
        })
    }
}

/// `1048576`, `1024KiB`, `1MiB` (spaces allowed before the unit).
fn parse_disk_size(value: &str) -> Result<u64, String> {
    let digits = value.trim_end_matches(|c: char| !c.is_ascii_digit());
    let unit = value[digits.len()..].trim();
    let scale: u64 = match unit {
        "" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        _ => {
            return Err(format!(
                "rom-disk: unknown size unit {unit:?} (use KiB or MiB)"
            ))
        }
    };
    let bytes = digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("rom-disk: bad size {value:?}"))?;
    if bytes == 0 || bytes % SECTOR_SIZE as u64 != 0 {
        return Err(format!(
            "rom-disk: {value} is not a non-zero multiple of {SECTOR_SIZE} bytes"
        ));
    }
    Ok(bytes)
}

/// `5, 100-103, 0x7FF`: inclusive ranges.
fn parse_lba_list(value: &str) -> Result<Vec<(u64, u64)>, String> {
    let num = |s: &str| {
        let s = s.trim();
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        }
        .map_err(|_| format!("rom-disk-written: bad sector number {s:?}"))
    };
    let mut out = Vec::new();
    for item in value.split(',') {
        let (first, last) = match item.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(item)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!("rom-disk-written: empty range {}", item.trim()));
        }
        out.push((first, last));
    }
    Ok(out)
}

/// The initial contents of sector `lba` of a ROM's disk image: bytes 0-3
/// hold `lba` as a little-endian 32-bit number, byte `i` (4..511) holds
/// `(lba + i) & 0xFF`.
pub fn disk_pattern(lba: u64) -> [u8; SECTOR_SIZE] {
    let mut s = [0u8; SECTOR_SIZE];
    for (i, b) in s.iter_mut().enumerate() {
        *b = lba.wrapping_add(i as u64) as u8;
    }
    s[..4].copy_from_slice(&(lba as u32).to_le_bytes());
    s
}

/// What a ROM writes to the sectors it lists in `rom-disk-written`: every
/// byte of [`disk_pattern`]`(lba)` inverted (XOR FFh).
pub fn disk_written_pattern(lba: u64) -> [u8; SECTOR_SIZE] {
    disk_pattern(lba).map(|b| !b)
}

/// A disk image made for one run of one ROM: a private file in the ROM
/// output directory, deleted when this is dropped unless [`keep`] was
/// called.
///
/// [`keep`]: DiskImage::keep
#[derive(Debug)]
pub struct DiskImage {
    pub path: PathBuf,
    pub spec: DiskSpec,
    keep: bool,
}

impl DiskImage {
    /// Writes a fresh image for `rom` in `dir` (named
    /// `NAME.<pid>.<n>.img`, so that parallel runs never share one).
    pub fn create(rom: &Rom, spec: &DiskSpec, dir: &Path) -> Result<DiskImage, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(format!(
            "{}.{}.{}.img",
            rom.name,
            std::process::id(),
            next_seq()
        ));
        if path.to_string_lossy().contains(',') {
            // QEMU's -drive would need the comma doubled; crane86's would not
            // take it at all.
            return Err(format!("{}: a disk path must not hold ','", path.display()));
        }
        let mut data = Vec::with_capacity(spec.sectors as usize * SECTOR_SIZE);
        for lba in 0..spec.sectors {
            data.extend_from_slice(&disk_pattern(lba));
        }
        std::fs::write(&path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(DiskImage {
            path,
            spec: spec.clone(),
            keep: false,
        })
    }

    /// The emulator options that attach the image as the primary master.
    /// `format=raw` keeps QEMU from probing the format (and from then
    /// refusing writes to sector 0); crane86 takes the same option.
    pub fn args(&self) -> Vec<String> {
        vec![
            "-drive".into(),
            format!(
                "file={},format=raw,if=ide,index=0,media=disk",
                self.path.display()
            ),
        ]
    }

    /// Checks the image after the run: the listed sectors hold
    /// [`disk_written_pattern`], all others [`disk_pattern`], and the size
    /// did not change. Reports the first few sectors that are wrong.
    pub fn verify(&self) -> Result<(), String> {
        let data = std::fs::read(&self.path)
            .map_err(|e| format!("cannot read {}: {e}", self.path.display()))?;
        let want_len = self.spec.sectors as usize * SECTOR_SIZE;
        if data.len() != want_len {
            return Err(format!(
                "disk image is {} bytes after the run, was {want_len}",
                data.len()
            ));
        }
        let mut problems = String::new();
        let mut bad = 0;
        for (lba, got) in (0u64..).zip(data.chunks_exact(SECTOR_SIZE)) {
            let (want, what) = if self.spec.is_written(lba) {
                (disk_written_pattern(lba), "the written pattern")
            } else {
                (disk_pattern(lba), "its initial pattern")
            };
            if got != want {
                bad += 1;
                if bad <= 4 {
                    let at = got.iter().zip(&want).position(|(a, b)| a != b).unwrap_or(0);
                    let _ = writeln!(
                        problems,
                        "disk sector {lba} does not hold {what}: byte {at} is {:02X}, want {:02X}",
                        got[at], want[at]
                    );
                }
            }
        }
        if bad == 0 {
            return Ok(());
        }
        if bad > 4 {
            let _ = writeln!(problems, "({bad} wrong sectors in all)");
        }
        Err(problems)
    }

    /// Leaves the file behind when this is dropped (to look at a failure).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for DiskImage {
    fn drop(&mut self) {
        if !self.keep {
            // Nothing to do about a file that cannot be removed.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Runs an assembled ROM with what its header asks for (a disk image).
/// Returns the output and, for a ROM with a disk, the result of checking
/// the image afterwards (the image itself is removed unless that failed).
pub fn run_rom(
    emu: &Emulator,
    rom: &Rom,
    bin: &Path,
    timeout: Duration,
) -> Result<(RunOutput, Result<(), String>), String> {
    let options = RomOptions::of(rom)?;
    let mut disk = match &options.disk {
        Some(spec) => Some(DiskImage::create(rom, spec, &rom_out_dir())?),
        None => None,
    };
    let extra = disk.as_ref().map(DiskImage::args).unwrap_or_default();
    let out = emu.run_with(bin, &extra, timeout)?;
    let check = match &mut disk {
        Some(d) => d.verify().map_err(|e| {
            d.keep();
            format!("{e}disk image kept in {}\n", d.path.display())
        }),
        None => Ok(()),
    };
    Ok((out, check))
}

/// Assembles `rom` into `out_dir/NAME.bin` and checks it is 64 KiB.
pub fn assemble(nasm: &Path, rom: &Rom, out_dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let out = out_dir.join(format!("{}.bin", rom.name));
    // Several test threads assemble the same ROM at once (interpreter and
    // JIT suites): assemble to a private name and rename, which is atomic,
    // so no emulator ever reads a half-written image.
    let seq = next_seq();
    let tmp = out_dir.join(format!("{}.bin.{}.{seq}.tmp", rom.name, std::process::id()));
    // NASM wants include directories with a trailing separator.
    let include = |dir: &str| format!("{}/", crate_dir().join(dir).display());
    let result = Command::new(nasm)
        .arg("-f")
        .arg("bin")
        .arg("-i")
        .arg(include("include"))
        .arg("-i")
        .arg(include("vectors"))
        .arg("-i")
        .arg(include("roms"))
        .arg("-o")
        .arg(&tmp)
        .arg(&rom.source)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", nasm.display()))?;
    if !result.status.success() {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "nasm failed on {}:\n{}",
            rom.source.display(),
            String::from_utf8_lossy(&result.stderr)
        ));
    }
    let len = std::fs::metadata(&tmp)
        .map_err(|e| format!("cannot stat {}: {e}", tmp.display()))?
        .len();
    if len != 0x10000 {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!(
            "{} is {len} bytes, not 65536",
            rom.source.display()
        ));
    }
    std::fs::rename(&tmp, &out)
        .map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), out.display()))?;
    Ok(out)
}

/// The program that runs the ROMs.
#[derive(Clone, Debug)]
pub struct Emulator {
    pub program: PathBuf,
    /// Options appended to the standard command line (e.g. `-accel jit`).
    pub extra_args: Vec<String>,
    /// True for this workspace's crane86 (not `$CRANE86_EMULATOR`).
    pub is_crane86: bool,
}

impl Emulator {
    /// `$CRANE86_EMULATOR`, else `$CRANE86_BIN`, else this workspace's
    /// `crane86`, built in release mode.
    pub fn from_env() -> Result<Emulator, String> {
        if let Ok(cmd) = std::env::var("CRANE86_EMULATOR") {
            let program = find_program(&cmd)
                .ok_or_else(|| format!("CRANE86_EMULATOR={cmd}: no such program"))?;
            return Ok(Emulator {
                program,
                extra_args: Vec::new(),
                is_crane86: false,
            });
        }
        if let Some(bin) = std::env::var_os("CRANE86_BIN") {
            let program = PathBuf::from(bin);
            if !program.is_file() {
                return Err(format!("CRANE86_BIN={}: no such file", program.display()));
            }
            return Ok(Emulator {
                program,
                extra_args: Vec::new(),
                is_crane86: true,
            });
        }
        Self::build_crane86()
    }

    /// Runs `cargo build --release --bin crane86` in the workspace root and
    /// returns the binary it produced.
    pub fn build_crane86() -> Result<Emulator, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(&cargo)
            .args(["build", "--release", "--bin", "crane86"])
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("cannot run {cargo}: {e}"))?;
        if !status.success() {
            return Err(format!(
                "`cargo build --release --bin crane86` failed: {status}"
            ));
        }
        let program = target_dir()
            .join("release")
            .join(format!("crane86{}", std::env::consts::EXE_SUFFIX));
        if !program.is_file() {
            return Err(format!("{} was not built", program.display()));
        }
        Ok(Emulator {
            program,
            extra_args: Vec::new(),
            is_crane86: true,
        })
    }

    /// Runs `bios`, killing the emulator after `timeout`.
    pub fn run(&self, bios: &Path, timeout: Duration) -> Result<RunOutput, String> {
        self.run_with(bios, &[], timeout)
    }

    /// Runs `bios` with `args` added to the standard command line (before
    /// [`extra_args`](Emulator::extra_args)), killing the emulator after
    /// `timeout`.
    pub fn run_with(
        &self,
        bios: &Path,
        args: &[String],
        timeout: Duration,
    ) -> Result<RunOutput, String> {
        let mut child = Command::new(&self.program)
            .args(emulator_args(bios))
            .args(args)
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let stdout = Capture::start(child.stdout.take());
        let stderr = Capture::start(child.stderr.take());
        let start = Instant::now();
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if start.elapsed() >= timeout => {
                    timed_out = true;
                    // The child may exit by itself in between: ignore errors.
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(format!("waiting for the emulator: {e}")),
            }
        };
        // The emulator is gone; only a process it left behind could still
        // hold the pipes open.
        let deadline = Instant::now() + Duration::from_secs(2);
        Ok(RunOutput {
            status,
            timed_out,
            stdout: stdout.finish(deadline),
            stderr: stderr.finish(deadline),
        })
    }
}

/// Most output kept from one run: a ROM that resets and loops can print
/// without end until the timeout.
pub const MAX_CAPTURE: usize = 1 << 20;

/// A pipe being read on a thread of its own into a shared buffer, so that
/// what arrived can be taken even if a stray process keeps the pipe open.
struct Capture {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Capture {
    /// Starts reading `pipe`, keeping the first [`MAX_CAPTURE`] bytes.
    fn start<R: Read + Send + 'static>(pipe: Option<R>) -> Capture {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, done) = std::sync::mpsc::channel();
        let shared = buf.clone();
        std::thread::spawn(move || {
            if let Some(mut pipe) = pipe {
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => {
                            let mut buf = shared.lock().unwrap_or_else(|e| e.into_inner());
                            let room = MAX_CAPTURE.saturating_sub(buf.len());
                            buf.extend_from_slice(&chunk[..n.min(room)]);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        // A read error ends the capture; what was read is kept.
                        Err(_) => break,
                    }
                }
            }
            // The receiver may have given up waiting: nothing to do then.
            let _ = tx.send(());
        });
        Capture { buf, done }
    }

    /// Waits until `deadline` at most for the end of the pipe, then
    /// returns what was read.
    fn finish(self, deadline: Instant) -> Vec<u8> {
        // Timing out here leaves the reader thread behind, which is harmless.
        let _ = self
            .done
            .recv_timeout(deadline.saturating_duration_since(Instant::now()));
        std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What an emulator run produced.
#[derive(Debug)]
pub struct RunOutput {
    pub status: Option<ExitStatus>,
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// The result of one ROM.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    pub passed: bool,
    /// Empty when the ROM passed; otherwise what went wrong.
    pub detail: String,
    pub elapsed: Duration,
}

/// The per-ROM timeout: `$CRANE86_ROM_TIMEOUT` seconds or [`DEFAULT_TIMEOUT`].
pub fn timeout_from_env() -> Result<Duration, String> {
    match std::env::var("CRANE86_ROM_TIMEOUT") {
        Ok(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| format!("CRANE86_ROM_TIMEOUT={s}: not a number of seconds")),
        Err(_) => Ok(DEFAULT_TIMEOUT),
    }
}

/// Assembles and runs one ROM and judges its output.
pub fn check_rom(nasm: &Path, emu: &Emulator, rom: &Rom, timeout: Duration) -> Outcome {
    let start = Instant::now();
    let detail = match check_rom_inner(nasm, emu, rom, timeout) {
        Ok(()) => String::new(),
        Err(e) => e,
    };
    Outcome {
        name: rom.name.clone(),
        passed: detail.is_empty(),
        detail,
        elapsed: start.elapsed(),
    }
}

fn check_rom_inner(
    nasm: &Path,
    emu: &Emulator,
    rom: &Rom,
    timeout: Duration,
) -> Result<(), String> {
    let expected = std::fs::read(&rom.expected)
        .map_err(|e| format!("cannot read {}: {e}", rom.expected.display()))?;
    let bin = assemble(nasm, rom, &rom_out_dir())?;
    let (out, disk_check) = run_rom(emu, rom, &bin, timeout)?;
    let mut problems = String::new();
    if out.timed_out {
        let _ = writeln!(
            problems,
            "timed out after {:.0} s (killed)",
            timeout.as_secs_f64()
        );
    } else {
        match out.status.and_then(|s| s.code()) {
            Some(PASS_STATUS) => {}
            Some(code) => {
                let _ = writeln!(problems, "exit status {code}, expected {PASS_STATUS}");
            }
            None => {
                let _ = writeln!(
                    problems,
                    "emulator ended without an exit code: {:?}",
                    out.status
                );
            }
        }
    }
    if let Some(diff) = first_difference(&expected, &out.stdout) {
        problems.push_str(&diff);
    }
    if let Err(e) = disk_check {
        problems.push_str(&e);
    }
    if problems.is_empty() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim_end();
    if !stderr.is_empty() {
        let _ = writeln!(problems, "emulator stderr:");
        for line in stderr.lines().take(20) {
            let _ = writeln!(problems, "    {line}");
        }
    }
    Err(problems)
}

/// Describes the first line where `got` differs from `expected`, or `None`
/// when they are equal.
pub fn first_difference(expected: &[u8], got: &[u8]) -> Option<String> {
    if expected == got {
        return None;
    }
    let exp: Vec<&[u8]> = expected.split_inclusive(|&b| b == b'\n').collect();
    let out: Vec<&[u8]> = got.split_inclusive(|&b| b == b'\n').collect();
    let line = exp
        .iter()
        .zip(&out)
        .position(|(a, b)| a != b)
        .unwrap_or(exp.len().min(out.len()));
    let show = |l: Option<&&[u8]>| match l {
        Some(l) => format!("{:?}", String::from_utf8_lossy(l)),
        None => "<end of output>".to_string(),
    };
    Some(format!(
        "output differs at line {}:\n    expected: {}\n    got:      {}\n",
        line + 1,
        show(exp.get(line)),
        show(out.get(line)),
    ))
}

/// Runs `roms` on up to `jobs` threads; outcomes come back in `roms` order.
/// `report` is called as each ROM finishes.
pub fn run_roms(
    nasm: &Path,
    emu: &Emulator,
    roms: &[Rom],
    timeout: Duration,
    jobs: usize,
    report: &(dyn Fn(&Outcome) + Sync),
) -> Vec<Outcome> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1).min(roms.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(rom) = roms.get(i) else { break };
                let outcome = check_rom(nasm, emu, rom, timeout);
                report(&outcome);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, outcome));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, o)| o).collect()
}

/// How many ROMs to run at once: the host's parallelism.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A one-line (plus detail) report of an outcome.
pub fn format_outcome(o: &Outcome) -> String {
    let mut s = format!(
        "rom {:<12} ... {} ({:.2} s)\n",
        o.name,
        if o.passed { "ok" } else { "FAILED" },
        o.elapsed.as_secs_f64()
    );
    for line in o.detail.lines() {
        let _ = writeln!(s, "    {line}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_output_has_no_difference() {
        assert_eq!(first_difference(b"a\r\nPASS\r\n", b"a\r\nPASS\r\n"), None);
    }

    #[test]
    fn difference_names_the_first_differing_line() {
        let d = first_difference(b"one\r\ntwo\r\nPASS\r\n", b"one\r\nTWO\r\nPASS\r\n").unwrap();
        assert!(d.contains("line 2"), "{d}");
        assert!(d.contains(r#""two\r\n""#), "{d}");
        assert!(d.contains(r#""TWO\r\n""#), "{d}");
    }

    #[test]
    fn missing_and_extra_lines_are_reported() {
        let d = first_difference(b"one\r\nPASS\r\n", b"one\r\n").unwrap();
        assert!(d.contains("line 2") && d.contains("<end of output>"), "{d}");
        let d = first_difference(b"one\r\n", b"one\r\nextra\r\n").unwrap();
        assert!(d.contains("line 2") && d.contains("extra"), "{d}");
    }

    #[cfg(unix)]
    fn script(name: &str, body: &str) -> Emulator {
        use std::os::unix::fs::PermissionsExt;
        let dir = target_dir().join("test-roms-selftest");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Emulator {
            program: path,
            extra_args: Vec::new(),
            is_crane86: false,
        }
    }

    #[cfg(unix)]
    #[test]
    fn run_captures_output_and_status() {
        let emu = script(
            "pass.sh",
            "printf 'hi\\r\\nPASS\\r\\n'; echo oops >&2; exit 1",
        );
        let out = emu
            .run(Path::new("x.bin"), Duration::from_secs(20))
            .unwrap();
        assert!(!out.timed_out);
        assert_eq!(out.status.and_then(|s| s.code()), Some(PASS_STATUS));
        assert_eq!(out.stdout, b"hi\r\nPASS\r\n");
        assert_eq!(out.stderr, b"oops\n");
    }

    #[cfg(unix)]
    #[test]
    fn run_kills_the_emulator_on_timeout() {
        // The shell is killed; the `sleep` it leaves behind keeps the pipes
        // open, which must not hold the runner up.
        let emu = script("hang.sh", "printf started; sleep 30");
        let start = Instant::now();
        let out = emu
            .run(Path::new("x.bin"), Duration::from_millis(300))
            .unwrap();
        assert!(out.timed_out);
        assert_eq!(out.stdout, b"started");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[cfg(unix)]
    #[test]
    fn run_passes_the_qemu_command_line() {
        let emu = script("args.sh", "echo \"$@\"");
        let out = emu
            .run(Path::new("r.bin"), Duration::from_secs(20))
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end(),
            "-bios r.bin -nographic -serial stdio -monitor none \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04"
        );
    }

    #[test]
    fn options_without_directives_are_empty() {
        let src = "; foo.asm — a ROM\n; rom: not a directive\n\n; rom-disk: 1MiB\n";
        assert_eq!(RomOptions::parse(src), Ok(RomOptions::default()));
    }

    #[test]
    fn disk_directives_are_parsed() {
        let src = "; x.asm\n;\n; rom-disk: 1 MiB\n; rom-disk-written: 5, 100-103\n\
                   ;rom-disk-written:0x7FF\nrom_start:\n; rom-bogus: 1\n";
        let o = RomOptions::parse(src).unwrap();
        let d = o.disk.unwrap();
        assert_eq!(d.sectors, 2048);
        assert_eq!(d.written, vec![(5, 5), (100, 103), (0x7FF, 0x7FF)]);
        assert!(d.is_written(102) && !d.is_written(104) && d.is_written(2047));
        let d = RomOptions::parse("; rom-disk: 64KiB\n")
            .unwrap()
            .disk
            .unwrap();
        assert_eq!((d.sectors, d.written.len()), (128, 0));
        let d = RomOptions::parse("; rom-disk: 1024\n")
            .unwrap()
            .disk
            .unwrap();
        assert_eq!(d.sectors, 2);
    }

    #[test]
    fn bad_disk_directives_are_errors() {
        for src in [
            "; rom-disk: 1000\n",
            "; rom-disk: 0\n",
            "; rom-disk: 1GiB\n",
            "; rom-disk: 1MiB\n; rom-disk: 1MiB\n",
            "; rom-disk-written: 3\n",
            "; rom-disk: 1KiB\n; rom-disk-written: 2\n",
            "; rom-disk: 1MiB\n; rom-disk-written: 9-3\n",
            "; rom-disk: 1MiB\n; rom-disk-written: x\n",
            "; rom-disks: 1MiB\n",
        ] {
            assert!(RomOptions::parse(src).is_err(), "{src:?}");
        }
    }

    #[test]
    fn disk_patterns() {
        let p = disk_pattern(0x1234);
        assert_eq!(&p[..6], &[0x34, 0x12, 0, 0, 0x38, 0x39]);
        assert_eq!(p[511], (0x1234u64 + 511) as u8);
        assert_eq!(disk_written_pattern(0x1234)[4], !0x38);
    }

    #[test]
    fn disk_image_is_created_checked_and_removed() {
        let rom = Rom {
            name: "selftest-disk".into(),
            source: PathBuf::new(),
            expected: PathBuf::new(),
        };
        let spec = DiskSpec {
            sectors: 8,
            written: vec![(2, 3)],
        };
        let dir = target_dir().join("test-roms-selftest");
        let a = DiskImage::create(&rom, &spec, &dir).unwrap();
        let b = DiskImage::create(&rom, &spec, &dir).unwrap();
        assert_ne!(a.path, b.path, "every run gets its own image");
        assert_eq!(
            a.args(),
            [
                "-drive".to_string(),
                format!(
                    "file={},format=raw,if=ide,index=0,media=disk",
                    a.path.display()
                )
            ]
        );
        let mut data = std::fs::read(&a.path).unwrap();
        assert_eq!(data.len(), 8 * SECTOR_SIZE);
        assert_eq!(&data[512..1024], &disk_pattern(1)[..]);
        // Untouched: sectors 2-3 were not written.
        let e = a.verify().unwrap_err();
        assert!(e.contains("sector 2 ") && e.contains("sector 3 "), "{e}");
        for lba in 2..4 {
            data[lba * SECTOR_SIZE..][..SECTOR_SIZE]
                .copy_from_slice(&disk_written_pattern(lba as u64));
        }
        std::fs::write(&a.path, &data).unwrap();
        a.verify().unwrap();
        // A stray write elsewhere is caught too.
        data[7 * SECTOR_SIZE + 9] ^= 1;
        std::fs::write(&a.path, &data).unwrap();
        let e = a.verify().unwrap_err();
        assert!(e.contains("sector 7 ") && e.contains("byte 9 "), "{e}");
        let path = a.path.clone();
        drop(a);
        assert!(!path.exists(), "the image is removed");
        let mut b = b;
        b.keep();
        let path = b.path.clone();
        drop(b);
        assert!(path.exists(), "a kept image stays");
        std::fs::remove_file(path).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn run_with_adds_arguments_before_the_extra_ones() {
        let mut emu = script("args2.sh", "echo \"$@\"");
        emu.extra_args = vec!["-accel".into(), "jit".into()];
        let out = emu
            .run_with(
                Path::new("r.bin"),
                &["-drive".into(), "file=d.img".into()],
                Duration::from_secs(20),
            )
            .unwrap();
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .trim_end()
                .ends_with("iosize=0x04 -drive file=d.img -accel jit"),
            "{:?}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    #[test]
    fn every_rom_has_valid_directives() {
        for rom in discover_roms(&crate_dir().join("roms")).unwrap() {
            RomOptions::of(&rom).unwrap();
        }
    }

    #[test]
    fn every_rom_has_an_expected_file() {
        for rom in discover_roms(&crate_dir().join("roms")).unwrap() {
            assert!(rom.expected.is_file(), "{} has no .expected", rom.name);
        }
    }
}
