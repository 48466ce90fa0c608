//! `crane86-boot-bench`: boots the Debian i386 guest of
//! `scripts/fetch-debian-guest.sh` several times under crane86 (and under
//! `qemu-system-i386 -accel tcg` when it is installed) and reports the median
//! time from start to the first line printed by the initramfs's /init, and to
//! the end of the process after `poweroff -f` is typed at the shell.
//!
//! Usage: `cargo run --release -p crane86-benches --bin crane86-boot-bench --
//!         [--runs N] [--accel A] [--guest DIR] [--timeout SECS] [--no-qemu | --only-qemu]`
//!
//! `--only-qemu` times QEMU alone (to check the guest and the harness).

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const INIT_LINE: &str = "crane86 initramfs: /init running";
const PROMPT: &str = "crane86# ";

struct Timing {
    to_init: f64,
    to_poweroff: f64,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ lives in the workspace")
        .to_path_buf()
}

/// One boot: start the emulator, wait for /init's first line and the shell
/// prompt, type `poweroff -f`, wait for the process to end.
fn boot_once(emulator: &Path, extra: &[&str], guest: &Path, timeout: Duration) -> Result<Timing> {
    let start = Instant::now();
    let mut child = Command::new(emulator)
        .args([
            "-m",
            "256",
            "-nographic",
            "-serial",
            "stdio",
            "-monitor",
            "none",
        ])
        .arg("-kernel")
        .arg(guest.join("vmlinuz"))
        .arg("-initrd")
        .arg(guest.join("initrd.img"))
        .args(["-append", "console=ttyS0"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", emulator.display()))?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("piped stderr");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let mut out = String::new();
    let mut to_init = None;
    let mut typed = false;
    loop {
        let left = timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{}: no power-off within {timeout:?}; the console's last lines:\n{}",
                emulator.display(),
                tail(&out, 15)
            );
        }
        match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(bytes) => out.push_str(&String::from_utf8_lossy(&bytes)),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if to_init.is_none() && out.contains(INIT_LINE) {
            to_init = Some(start.elapsed().as_secs_f64());
        }
        if to_init.is_some() && !typed {
            let init_at = out.find(INIT_LINE).unwrap_or(0);
            if out[init_at..].contains(PROMPT) {
                let stdin = child.stdin.as_mut().expect("piped stdin");
                stdin.write_all(b"poweroff -f\n")?;
                stdin.flush()?;
                typed = true;
            }
        }
    }
    let status = child.wait()?;
    let to_poweroff = start.elapsed().as_secs_f64();
    let err = err_reader.join().unwrap_or_default();
    let Some(to_init) = to_init else {
        bail!(
            "{} exited ({status}) before /init ran; the console's last lines:\n{}{}",
            emulator.display(),
            tail(&out, 15),
            err
        );
    };
    if !typed || status.code() != Some(0) {
        bail!(
            "{} exited with {status} (want 0 after poweroff -f); the console's last lines:\n{}{}",
            emulator.display(),
            tail(&out, 15),
            err
        );
    }
    Ok(Timing {
        to_init,
        to_poweroff,
    })
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn bench(
    name: &str,
    emulator: &Path,
    extra: &[&str],
    guest: &Path,
    runs: usize,
    timeout: Duration,
) -> Result<(f64, f64)> {
    let mut init = Vec::new();
    let mut off = Vec::new();
    for i in 0..runs {
        let t = boot_once(emulator, extra, guest, timeout)?;
        eprintln!(
            "  {name} run {}: /init at {:.2} s, powered off at {:.2} s",
            i + 1,
            t.to_init,
            t.to_poweroff
        );
        init.push(t.to_init);
        off.push(t.to_poweroff);
    }
    Ok((median(init), median(off)))
}

fn main() -> Result<()> {
    let root = workspace_root();
    let mut runs = 3usize;
    let mut accel = "jit".to_string();
    let mut guest = root.join("target/debian-guest");
    let mut timeout = Duration::from_secs(900);
    let mut want_qemu = true;
    let mut want_crane = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().context("--runs N")?.parse()?,
            "--accel" => accel = args.next().context("--accel A")?,
            "--guest" => guest = PathBuf::from(args.next().context("--guest DIR")?),
            "--timeout" => {
                timeout = Duration::from_secs(args.next().context("--timeout SECS")?.parse()?)
            }
            "--no-qemu" => want_qemu = false,
            "--only-qemu" => want_crane = false,
            _ => bail!(
                "unknown argument {a} (use --runs N, --accel A, --guest DIR, --timeout SECS, --no-qemu, --only-qemu)"
            ),
        }
    }
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    if !guest.join("vmlinuz").is_file() || !guest.join("initrd.img").is_file() {
        bail!(
            "no guest in {}: run scripts/fetch-debian-guest.sh first",
            guest.display()
        );
    }
    if !want_qemu && !want_crane {
        bail!("--no-qemu and --only-qemu leave nothing to run");
    }
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "--bin", "crane86"])
        .status()?;
    if !status.success() {
        bail!("building crane86 failed");
    }
    let crane = root.join("target/release/crane86");
    let qemu = want_qemu.then(|| which("qemu-system-i386")).flatten();

    println!("Debian i386 boot, -m 256, {runs} runs each, medians; crane86 -accel {accel}");
    let c = if want_crane {
        Some(bench(
            "crane86",
            &crane,
            &["-accel", &accel],
            &guest,
            runs,
            timeout,
        )?)
    } else {
        None
    };
    let q = match &qemu {
        Some(q) => Some(bench(
            "qemu-tcg",
            q,
            &["-accel", "tcg"],
            &guest,
            runs,
            timeout,
        )?),
        None => None,
    };
    println!(
        "{:<22} {:>10} {:>10} {:>14}",
        "", "crane86 s", "qemu-tcg s", "crane86/qemu"
    );
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    let row = |what: &str, c: Option<f64>, q: Option<f64>| {
        let ratio = match (c, q) {
            (Some(c), Some(q)) => Some(c / q),
            _ => None,
        };
        println!(
            "{what:<22} {:>10} {:>10} {:>14}",
            cell(c),
            cell(q),
            cell(ratio)
        );
    };
    row("start to /init line", c.map(|c| c.0), q.map(|q| q.0));
    row("start to power-off", c.map(|c| c.1), q.map(|q| q.1));
    if want_qemu && qemu.is_none() {
        println!(
            "(qemu-system-i386 not installed: no QEMU column; apt-get install qemu-system-x86)"
        );
    }
    Ok(())
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}
