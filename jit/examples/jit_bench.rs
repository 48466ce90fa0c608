//! Runs a guest ROM (a 64 KiB `-bios` image, or a NASM source assembled
//! with the conformance suite's includes) under the interpreter and under
//! the JIT, several times each, and prints guest MIPS (median) side by
//! side, with the JIT's statistics.
//!
//! Usage: `cargo run --release -p crane86-jit --example jit_bench -- ROM [RUNS] [interp|jit]`
//! e.g. `... -- benches/roms/intloop.asm 5`

#[path = "../tests/common/mod.rs"]
mod common;

use crane86_jit::Jit;
use std::path::Path;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: jit_bench ROM.asm|ROM.bin [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let only = args.next();
    let p = Path::new(&path);
    let rom = if p.extension().is_some_and(|e| e == "asm") {
        common::assemble(p)
    } else {
        std::fs::read(p).unwrap_or_else(|e| {
            eprintln!("{path}: {e}");
            std::process::exit(1)
        })
    };
    let mut results = Vec::new();
    for name in ["interp", "jit"] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let mut mips = Vec::new();
        let mut secs = Vec::new();
        let mut last = None;
        for _ in 0..runs {
            let mut jit = Jit::new().expect("JIT");
            let r = common::run_rom(&rom, (name == "jit").then_some(&mut jit), u64::MAX);
            mips.push(r.icount as f64 / r.secs / 1e6);
            secs.push(r.secs);
            last = Some((r, jit.stats()));
        }
        let (r, stats) = last.unwrap();
        println!(
            "{name:>6}: {:8.1} MIPS (median of {runs}), {:.3} s, {} insns, exit {:?}, output: {}",
            median(mips.clone()),
            median(secs.clone()),
            r.icount,
            r.exit,
            r.output.trim_end().replace("\r\n", " | ")
        );
        if name == "jit" {
            println!("{stats}");
        }
        results.push(median(mips));
    }
    if results.len() == 2 {
        println!("jit/interp: {:.2}x", results[1] / results[0]);
    }
}
