//! `crane86-bench`: runs the guest workloads under crane86 with the
//! interpreter and with the JIT, under `qemu-system-i386 -accel tcg` when it
//! is installed, and — for the C workloads — natively, several times each,
//! and prints one table of medians.
//!
//! Two kinds of workload:
//! - `benches/roms/NAME.asm`: a NASM ROM run with `-bios`;
//! - `benches/workload/NAME.c`: one C source (defining
//!   `uint32_t workload(void)`) built twice with the host C compiler (`cc`,
//!   or `$CC`): as a freestanding 32-bit multiboot kernel with the runtime in
//!   `benches/workload/rt/` (run with `-kernel`; crane86 and QEMU boot it
//!   through their BIOS), and natively with `cc -O2` as the floor. Without a
//!   C compiler these are skipped.
//!
//! Every engine must print the same checksum line (and crane86's two
//! engines the same output). Times are wall times of the whole process,
//! start-up and BIOS included, for crane86, QEMU and native alike; guest
//! MIPS is crane86's instruction count (`-d stats`) over that wall time.
//! The JIT's translation cost comes from `-d jit`: its compile time and µs
//! per guest instruction compiled.
//!
//! Usage: `cargo run --release -p crane86-benches -- [--runs N] [--only NAME]`

use anyhow::{bail, Context, Result};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The arguments every engine gets besides the image and the accelerator.
const COMMON_ARGS: [&str; 7] = [
    "-nographic",
    "-serial",
    "stdio",
    "-monitor",
    "none",
    "-device",
    "isa-debug-exit,iobase=0xf4,iosize=0x04",
];

/// Flags for the guest kernel: freestanding 32-bit, no libgcc (the
/// workloads use 32-bit arithmetic only), pinned to i686 (no SSE).
const GUEST_CFLAGS: [&str; 13] = [
    "-m32",
    "-march=i686",
    "-ffreestanding",
    "-nostdlib",
    "-static",
    "-O2",
    "-fno-pic",
    "-no-pie",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-Wall",
    "-Wextra",
    "-Wl,--build-id=none",
];

struct Run {
    secs: f64,
    /// `-d stats`: guest instructions executed.
    insns: Option<f64>,
    /// `-d jit`: seconds spent compiling.
    compile_secs: Option<f64>,
    /// `-d jit`: µs of compile time per guest instruction compiled.
    us_per_insn: Option<f64>,
    output: String,
}

struct Workload {
    name: String,
    /// The image on the emulator's command line (`-bios ROM`, `-kernel ELF`).
    boot: Vec<OsString>,
    /// The host build of a C workload.
    native: Option<PathBuf>,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("benches/ lives in the workspace")
        .to_path_buf()
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default()
}

fn assemble(root: &Path, src: &Path, out_dir: &Path) -> Result<PathBuf> {
    let out = out_dir.join(format!("{}.bin", stem(src)));
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

/// The C compiler: `$CC` or `cc`, if it can be found.
fn c_compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let found = if cc.contains('/') {
        Path::new(&cc).is_file()
    } else {
        which(&cc).is_some()
    };
    found.then_some(cc)
}

fn compile(cc: &str, args: &[&str], srcs: &[PathBuf], out: &Path) -> Result<()> {
    let status = Command::new(cc)
        .args(args)
        .arg("-o")
        .arg(out)
        .args(srcs)
        .status()
        .with_context(|| format!("cannot run the C compiler `{cc}`"))?;
    if !status.success() {
        bail!("`{cc}` failed building {}", out.display());
    }
    Ok(())
}

/// Builds `benches/workload/NAME.c` as a multiboot kernel and as a host
/// program.
fn build_c(cc: &str, src: &Path, out_dir: &Path) -> Result<Workload> {
    let name = stem(src);
    let rt = src.parent().context("workload directory")?.join("rt");
    let kernel = out_dir.join(format!("{name}.elf"));
    let script = format!("-Wl,-T,{}", rt.join("guest.ld").display());
    let mut flags = GUEST_CFLAGS.to_vec();
    flags.push(&script);
    compile(
        cc,
        &flags,
        &[rt.join("boot.S"), rt.join("guest.c"), src.to_path_buf()],
        &kernel,
    )?;
    let native = out_dir.join(&name);
    compile(
        cc,
        &["-O2"],
        &[rt.join("native.c"), src.to_path_buf()],
        &native,
    )?;
    Ok(Workload {
        name,
        boot: vec!["-kernel".into(), kernel.into()],
        native: Some(native),
    })
}

fn run_once(emulator: &Path, boot: &[OsString], extra: &[&str]) -> Result<Run> {
    let t = Instant::now();
    let out = Command::new(emulator)
        .args(boot)
        .args(COMMON_ARGS)
        .args(extra)
        .output()
        .with_context(|| format!("cannot run {}", emulator.display()))?;
    let secs = t.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // isa-debug-exit with 0 (PASS) exits with status 1.
    if out.status.code() != Some(1) {
        bail!(
            "{} exited with {:?}: {}{}",
            emulator.display(),
            out.status.code(),
            stdout,
            stderr
        );
    }
    // crane86 -d stats: "crane86: N instructions in S s (M MIPS), ...".
    let insns = stderr.lines().find_map(|l| {
        let l = l.strip_prefix("crane86: ")?;
        let mut w = l.split_whitespace();
        let n: f64 = w.next()?.parse().ok()?;
        (w.next()? == "instructions").then_some(n)
    });
    // -d jit: "jit: compile time S s (U us per guest insn)".
    let compile = stderr.lines().find_map(|l| {
        let l = l.strip_prefix("jit: compile time ")?;
        let secs: f64 = l.split_whitespace().next()?.parse().ok()?;
        let l = &l[l.find('(')? + 1..];
        Some((secs, l.split_whitespace().next()?.parse().ok()?))
    });
    Ok(Run {
        secs,
        insns,
        compile_secs: compile.map(|c| c.0),
        us_per_insn: compile.map(|c| c.1),
        output: stdout,
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(v[v.len() / 2])
}

/// The checksum line a workload prints (compared across engines), from
/// "checksum" on: a BIOS may leave its last message unterminated
/// (SeaBIOS: "Booting from ROM..").
fn checksum(output: &str) -> Option<&str> {
    output.lines().find_map(|l| {
        let l = l.trim_end_matches('\r');
        Some(&l[l.find("checksum")?..])
    })
}

/// Two engines agree: the same checksum line, or, for a workload without
/// one, the same output.
fn agree(a: &str, b: &str) -> bool {
    match (checksum(a), checksum(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn what(output: &str) -> &str {
    checksum(output).unwrap_or(output)
}

/// Runs a host program `runs` times; the median wall time. It must print
/// the checksum crane86 printed.
fn native(name: &str, exe: &Path, runs: usize, want: &str) -> Result<Option<f64>> {
    let mut secs = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = Command::new(exe)
            .output()
            .with_context(|| format!("cannot run {}", exe.display()))?;
        secs.push(t.elapsed().as_secs_f64());
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !agree(&text, want) {
            bail!(
                "{name}: native printed {:?}, crane86 {:?}",
                what(&text),
                what(want)
            );
        }
    }
    Ok(median(secs))
}

fn fmt(v: Option<f64>, width: usize, prec: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:>width$.prec$}"),
        _ => format!("{:>width$}", "-"),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
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
    let wanted = |p: &PathBuf| only.as_ref().is_none_or(|o| stem(p) == *o);
    let sources = |dir: &str, ext: &str| -> Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(root.join(dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == ext))
            .filter(wanted)
            .collect();
        v.sort();
        Ok(v)
    };
    let mut workloads = Vec::new();
    for src in sources("benches/roms", "asm")? {
        workloads.push(Workload {
            name: stem(&src),
            boot: vec!["-bios".into(), assemble(&root, &src, &out_dir)?.into()],
            native: None,
        });
    }
    let c_sources = sources("benches/workload", "c")?;
    match c_compiler() {
        Some(cc) => {
            for src in &c_sources {
                workloads.push(build_c(&cc, src, &out_dir)?);
            }
        }
        None if !c_sources.is_empty() => println!(
            "(no C compiler `cc` (install gcc, or set CC): skipping the C workloads and the native column)"
        ),
        None => {}
    }
    println!(
        "{runs} runs each, medians; wall times of the whole process (start-up and BIOS included)"
    );
    println!(
        "{:<15} {:>8} {:>8} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "workload",
        "int s",
        "jit s",
        "jit/int",
        "int MIPS",
        "jit MIPS",
        "qemu s",
        "c86/qemu",
        "native s",
        "c86/nat",
        "comp s",
        "us/insn"
    );
    for w in workloads {
        let name = &w.name;
        let (mut jsecs, mut isecs) = (Vec::new(), Vec::new());
        let (mut jmips, mut imips) = (Vec::new(), Vec::new());
        let (mut jcomp, mut jus) = (Vec::new(), Vec::new());
        let mut first_output: Option<String> = None;
        for _ in 0..runs {
            let r = run_once(&crane, &w.boot, &["-accel", "jit", "-d", "jit,stats"])?;
            jsecs.push(r.secs);
            jmips.extend(r.insns.map(|n| n / r.secs / 1e6));
            jcomp.extend(r.compile_secs);
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
            let out = first_output.get_or_insert(r.output);
            let r = run_once(&crane, &w.boot, &["-accel", "interp", "-d", "stats"])?;
            isecs.push(r.secs);
            imips.extend(r.insns.map(|n| n / r.secs / 1e6));
            if r.output != *out {
                bail!(
                    "{name}: -accel interp printed {:?}, -accel jit {:?}",
                    r.output,
                    out
                );
            }
        }
        let out = first_output.unwrap_or_default();
        let (j_secs, i_secs) = (median(jsecs), median(isecs));
        let q = match &qemu {
            Some(q) => {
                let mut qs = Vec::new();
                for _ in 0..runs {
                    let r = run_once(q, &w.boot, &["-accel", "tcg"])?;
                    if !agree(&r.output, &out) {
                        bail!(
                            "{name}: QEMU printed {:?}, crane86 {:?}",
                            what(&r.output),
                            what(&out)
                        );
                    }
                    qs.push(r.secs);
                }
                median(qs)
            }
            None => None,
        };
        let nat = match &w.native {
            Some(exe) => native(name, exe, runs, &out)?,
            None => None,
        };
        println!(
            "{name:<15} {} {} {} {} {} {} {} {} {} {} {}",
            fmt(i_secs, 8, 3),
            fmt(j_secs, 8, 3),
            fmt(ratio(i_secs, j_secs), 7, 2),
            fmt(median(imips), 8, 1),
            fmt(median(jmips), 8, 1),
            fmt(q, 8, 3),
            fmt(ratio(j_secs, q), 8, 2),
            fmt(nat, 8, 3),
            fmt(ratio(j_secs, nat), 8, 1),
            fmt(median(jcomp), 8, 3),
            fmt(median(jus), 7, 1),
        );
    }
    println!(
        "jit/int: interpreter time over JIT time; MIPS: guest instructions (-d stats) per wall second;\n\
         c86/qemu, c86/nat: crane86 JIT time over QEMU TCG / native time;\n\
         comp s, us/insn: JIT compile time, and per guest instruction compiled (-d jit)"
    );
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
