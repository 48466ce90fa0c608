//! Boots the firmware under `qemu-system-i386` (whose i440FX PC is the
//! board crane86 mimics) and checks the serial console. Skipped with a
//! note when QEMU (or, for the self-test, nasm) is not installed: these
//! check the BIOS against a reference machine, not crane86 itself.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const QEMU: &str = "qemu-system-i386";
const TIMEOUT: Duration = Duration::from_secs(60);

fn have(program: &str, arg: &str) -> bool {
    Command::new(program)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs QEMU with the BIOS and `extra` arguments until the serial output
/// contains `until` (or the time-out passes), then stops it and returns
/// everything COM1 printed.
fn run_qemu(extra: &[&str], until: &str) -> String {
    let bios = root().join("bios.bin");
    let mut child = Command::new(QEMU)
        .arg("-bios")
        .arg(&bios)
        .args([
            "-m",
            "128",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-no-reboot",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting qemu-system-i386");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(chunk) => {
                out.extend_from_slice(&chunk);
                if String::from_utf8_lossy(&out).contains(until) {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8_lossy(&out).replace('\r', "")
}

fn drive(path: &Path) -> String {
    format!("file={},format=raw,if=ide,snapshot=on", path.display())
}

#[test]
fn demo_disk_runs_to_completion() {
    if !have(QEMU, "--version") {
        eprintln!("note: {QEMU} not found; skipping the QEMU boot test");
        return;
    }
    let out = run_qemu(
        &["-drive", &drive(&root().join("demo.img"))],
        "Demo finished.",
    );
    for expected in [
        "crane86 BIOS",
        "Memory: 128 MiB (639 KiB base)",
        "crane86 demo",
        "Base memory (INT 12h): 639 KiB",
        "  0000000000000000-000000000009FBFF usable\n",
        "  000000000009FC00-000000000009FFFF reserved\n",
        "  0000000000100000-0000000007FFFFFF usable\n",
        "  00000000FFFC0000-00000000FFFFFFFF reserved\n",
        "Disk (INT 13h): CHS 2/16/63, 128 sectors",
        "Timer (INT 15h/86h, 250 ms): ok",
        "Primes below 65536 (sieve): 6542",
        "....@@@@@@@@@@",
        "Demo finished.",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[test]
fn no_disk_reports_no_bootable_device() {
    if !have(QEMU, "--version") {
        eprintln!("note: {QEMU} not found; skipping the QEMU boot test");
        return;
    }
    let out = run_qemu(&[], "No bootable device.");
    assert!(out.contains("Disk 80h: none"), "{out}");
    assert!(out.contains("No bootable device."), "{out}");
}

#[test]
fn bios_selftest_guest_passes() {
    if !have(QEMU, "--version") || !have("nasm", "-v") {
        eprintln!("note: {QEMU} or nasm not found; skipping the BIOS self-test");
        return;
    }
    let tmp =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("selftest-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let image = tmp.join("selftest.img");
    let status = Command::new("nasm")
        .args(["-f", "bin", "-o"])
        .arg(&image)
        .arg(root().join("selftest/selftest.asm"))
        .status()
        .expect("running nasm");
    assert!(status.success(), "nasm failed on selftest.asm");
    let out = run_qemu(&["-drive", &drive(&image)], "selftest done");
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        out.contains("selftest done"),
        "self-test did not finish:\n{out}"
    );
    assert!(!out.contains("FAIL"), "self-test failures:\n{out}");
    assert!(out.contains("CHS read x3: ok"), "{out}");
    // 09h then 0Eh of the same character reaches COM1 once.
    assert!(out.contains("INT 10h 09h+0Eh echo: X\n"), "{out}");
}
