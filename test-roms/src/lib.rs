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

/// Assembles `rom` into `out_dir/NAME.bin` and checks it is 64 KiB.
pub fn assemble(nasm: &Path, rom: &Rom, out_dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    let out = out_dir.join(format!("{}.bin", rom.name));
    // Several test threads assemble the same ROM at once (interpreter and
    // JIT suites): assemble to a private name and rename, which is atomic,
    // so no emulator ever reads a half-written image.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        let mut child = Command::new(&self.program)
            .args(emulator_args(bios))
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
    let out = emu.run(&bin, timeout)?;
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
    fn every_rom_has_an_expected_file() {
        for rom in discover_roms(&crate_dir().join("roms")).unwrap() {
            assert!(rom.expected.is_file(), "{} has no .expected", rom.name);
        }
    }
}
