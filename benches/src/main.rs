//! `crane86-bench`: runs the guest workloads in `benches/roms/` under crane86
//! (and under `qemu-system-i386 -accel tcg` when it is installed) several
//! times, and reports the median guest MIPS and wall times side by side.
//!
//! Usage: `cargo run --release -p crane86-benches -- [--runs N] [--accel A]`

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Run {
    secs: f64,
    mips: Option<f64>,
    output: String,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ lives in the workspace")
        .to_path_buf()
}

fn assemble(root: &Path, src: &Path, out_dir: &Path) -> Result<PathBuf> {
    let name = src
        .file_stem()
        .context("ROM file name")?
        .to_string_lossy()
        .to_string();
    let out = out_dir.join(format!("{name}.bin"));
    let status = Command::new("nasm")
        .args(["-f", "bin", "-I"])
        .arg(root.join("test-roms/include/"))
        .arg(src)
        .arg("-o")
        .arg(&out)
        .status()
        .context("nasm not found: install it (apt-get install nasm)")?;
    if !status.success() {
        bail!("nasm failed on {}", src.display());
    }
    Ok(out)
}

fn run_once(emulator: &Path, extra: &[&str], rom: &Path) -> Result<Run> {
    let t = Instant::now();
    let out = Command::new(emulator)
        .arg("-bios")
        .arg(rom)
        .args([
            "-nographic",
            "-serial",
            "stdio",
            "-monitor",
            "none",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
        ])
        .args(extra)
        .output()
        .with_context(|| format!("cannot run {}", emulator.display()))?;
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.code() != Some(1) {
        bail!(
            "{} exited with {:?}: {}{}",
            emulator.display(),
            out.status.code(),
            stdout,
            stderr
        );
    }
    // crane86 -d stats: "N instructions in S s (M MIPS)".
    let mips = stderr.lines().find_map(|l| {
        let l = l.strip_prefix("crane86: ")?;
        let mut w = l.split_whitespace();
        let n: f64 = w.next()?.parse().ok()?;
        let _ = w.next()?; // "instructions"
        let _ = w.next()?; // "in"
        let s: f64 = w.next()?.parse().ok()?;
        Some(n / s / 1e6)
    });
    Ok(Run {
        secs,
        mips,
        output: stdout,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let mut runs = 5usize;
    let mut accel = "interp".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().context("--runs N")?.parse()?,
            "--accel" => accel = args.next().context("--accel A")?,
            _ => bail!("unknown argument {a} (use --runs N, --accel A)"),
        }
    }
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args(["build", "--release", "--quiet", "--bin", "crane86"])
        .status()?;
    if !status.success() {
        bail!("building crane86 failed");
    }
    let crane = root.join("target/release/crane86");
    let out_dir = root.join("target/bench-roms");
    std::fs::create_dir_all(&out_dir)?;
    let qemu = which("qemu-system-i386");
    let mut roms: Vec<PathBuf> = std::fs::read_dir(root.join("benches/roms"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "asm"))
        .collect();
    roms.sort();
    println!("{runs} runs each, medians; crane86 -accel {accel}");
    println!(
        "{:<12} {:>12} {:>12} {:>12} {:>14}",
        "workload", "crane86 MIPS", "crane86 s", "qemu-tcg s", "crane86/qemu"
    );
    for src in roms {
        let rom = assemble(&root, &src, &out_dir)?;
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        let mut secs = Vec::new();
        let mut mips = Vec::new();
        let mut first_output = None;
        for _ in 0..runs {
            let r = run_once(&crane, &["-accel", &accel, "-d", "stats"], &rom)?;
            secs.push(r.secs);
            mips.extend(r.mips);
            first_output.get_or_insert(r.output);
        }
        let c_secs = median(secs);
        let c_mips = if mips.is_empty() {
            f64::NAN
        } else {
            median(mips)
        };
        let q = match &qemu {
            Some(q) => {
                let mut qs = Vec::new();
                for _ in 0..runs {
                    let r = run_once(q, &["-accel", "tcg"], &rom)?;
                    if Some(&r.output) != first_output.as_ref() {
                        bail!(
                            "{name}: QEMU printed {:?}, crane86 {:?}",
                            r.output,
                            first_output
                        );
                    }
                    qs.push(r.secs);
                }
                Some(median(qs))
            }
            None => None,
        };
        match q {
            Some(qs) => println!(
                "{name:<12} {c_mips:>12.1} {c_secs:>12.3} {qs:>12.3} {:>14.2}",
                c_secs / qs
            ),
            None => println!(
                "{name:<12} {c_mips:>12.1} {c_secs:>12.3} {:>12} {:>14}",
                "-", "-"
            ),
        }
    }
    if qemu.is_none() {
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
