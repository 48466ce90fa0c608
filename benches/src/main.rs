//! `crane86-bench`: runs the guest workloads in `benches/roms/` under
//! crane86 with the JIT and with the interpreter, under
//! `qemu-system-i386 -accel tcg` when it is installed, and — for a workload
//! with a C version in `benches/native/NAME.c` — natively (built with the
//! host `cc -O2`), several times each, and prints one table of medians:
//! guest MIPS of both engines and their ratio, wall times and the
//! crane86/QEMU and crane86/native ratios, and the JIT's translation cost
//! (µs per guest instruction compiled, from `-d jit`).
//!
//! Usage: `cargo run --release -p crane86-benches -- [--runs N] [--only NAME]`

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

struct Run {
    secs: f64,
    mips: Option<f64>,
    /// `-d jit`: µs of compile time per guest instruction compiled.
    us_per_insn: Option<f64>,
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
    // -d jit: "jit: compile time S s (U us per guest insn)".
    let us_per_insn = stderr.lines().find_map(|l| {
        let l = l.strip_prefix("jit: compile time ")?;
        let l = &l[l.find('(')? + 1..];
        l.split_whitespace().next()?.parse().ok()
    });
    Ok(Run {
        secs,
        mips,
        us_per_insn,
        output: stdout,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The checksum line a workload prints (compared across engines).
fn checksum(output: &str) -> Option<&str> {
    output.lines().find(|l| l.starts_with("checksum"))
}

/// Builds `benches/native/NAME.c` with the host C compiler, runs it `runs`
/// times and returns the median wall time; the checksum must match.
fn native(root: &Path, name: &str, runs: usize, want: Option<&str>) -> Result<Option<f64>> {
    let src = root.join(format!("benches/native/{name}.c"));
    if !src.is_file() {
        return Ok(None);
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let dir = root.join("target/bench-native");
    std::fs::create_dir_all(&dir)?;
    let exe = dir.join(name);
    let status = Command::new(&cc)
        .args(["-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .with_context(|| format!("C compiler `{cc}` not found (install gcc, or set CC)"))?;
    if !status.success() {
        bail!("{cc} failed on {}", src.display());
    }
    let mut secs = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(&exe).output()?;
        secs.push(t.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        if checksum(&text) != want {
            bail!(
                "{name}: native printed {:?}, crane86 {:?}",
                checksum(&text),
                want
            );
        }
    }
    Ok(Some(median(secs)))
}

fn fmt(v: Option<f64>, width: usize, prec: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:>width$.prec$}"),
        _ => format!("{:>width$}", "-"),
    }
}

fn main() -> Result<()> {
    let mut runs = 5usize;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().context("--runs N")?.parse()?,
            "--only" => only = Some(args.next().context("--only NAME")?),
            _ => bail!("unknown argument {a} (use --runs N, --only NAME)"),
        }
    }
    let runs = runs.max(1);
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
        .filter(|p| {
            only.as_ref()
                .is_none_or(|o| p.file_stem().is_some_and(|s| s.to_string_lossy() == *o))
        })
        .collect();
    roms.sort();
    println!("{runs} runs each, medians (wall times include start-up)");
    println!(
        "{:<16} {:>9} {:>9} {:>7} {:>9} {:>9} {:>8} {:>9} {:>8} {:>9}",
        "workload",
        "jit MIPS",
        "int MIPS",
        "jit/int",
        "jit s",
        "qemu s",
        "c86/qemu",
        "native s",
        "c86/nat",
        "us/insn"
    );
    for src in roms {
        let rom = assemble(&root, &src, &out_dir)?;
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        let (mut jsecs, mut jmips, mut jus) = (Vec::new(), Vec::new(), Vec::new());
        let mut imips = Vec::new();
        let mut first_output: Option<String> = None;
        for _ in 0..runs {
            let r = run_once(&crane, &["-accel", "jit", "-d", "jit,stats"], &rom)?;
            jsecs.push(r.secs);
            jmips.extend(r.mips);
            jus.extend(r.us_per_insn);
            if let Some(f) = &first_output {
                if *f != r.output {
                    bail!(
                        "{name}: crane86 -accel jit printed {:?}, then {:?}",
                        f,
                        r.output
                    );
                }
            }
            first_output.get_or_insert(r.output);
            let r = run_once(&crane, &["-accel", "interp", "-d", "stats"], &rom)?;
            imips.extend(r.mips);
            if Some(&r.output) != first_output.as_ref() {
                bail!(
                    "{name}: -accel interp printed {:?}, -accel jit {:?}",
                    r.output,
                    first_output
                );
            }
        }
        let out = first_output.unwrap_or_default();
        let j_secs = median(jsecs);
        let (j_mips, i_mips) = (median(jmips), median(imips));
        let q = match &qemu {
            Some(q) => {
                let mut qs = Vec::new();
                for _ in 0..runs {
                    let r = run_once(q, &["-accel", "tcg"], &rom)?;
                    if r.output != out {
                        bail!("{name}: QEMU printed {:?}, crane86 {:?}", r.output, out);
                    }
                    qs.push(r.secs);
                }
                Some(median(qs))
            }
            None => None,
        };
        let nat = native(&root, &name, runs, checksum(&out))?;
        println!(
            "{name:<16} {} {} {} {} {} {} {} {} {}",
            fmt(Some(j_mips), 9, 1),
            fmt(Some(i_mips), 9, 1),
            fmt(Some(j_mips / i_mips), 7, 2),
            fmt(Some(j_secs), 9, 3),
            fmt(q, 9, 3),
            fmt(q.map(|q| j_secs / q), 8, 2),
            fmt(nat, 9, 3),
            fmt(nat.map(|n| j_secs / n), 8, 1),
            fmt(Some(median(jus)), 9, 1),
        );
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
