//! Every conformance ROM (test-roms/roms, including the smc_* ones) under
//! the JIT with a compile threshold of 1, so each block is compiled the
//! first time it runs, and with the default threshold (mixed
//! interpreted/compiled execution). The output must match `.expected` and
//! the ROM must exit with PASS.

mod common;

use crane86_jit::{Jit, JitConfig};

fn check(threshold: u32, chain_limit: u32) {
    let dir = common::root().join("test-roms/roms");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "asm").then_some(p)
        })
        .collect();
    names.sort();
    let only = std::env::var("CRANE86_ROMS").ok();
    let mut failed = Vec::new();
    for src in names {
        let name = src.file_stem().unwrap().to_string_lossy().to_string();
        // Device ROMs (and ROMs with a disk) need the PC board's PIC, PIT,
        // RTC, UART and IDE; they run under the JIT on the real board in
        // test-roms/tests/roms.rs.
        let text = std::fs::read_to_string(&src).unwrap();
        if name.starts_with("dev_") || text.lines().any(|l| l.starts_with("; rom-disk:")) {
            continue;
        }
        if let Some(o) = &only {
            if !o.split(',').any(|n| n == name) {
                continue;
            }
        }
        let expected = std::fs::read_to_string(src.with_extension("expected")).unwrap();
        let rom = common::assemble(&src);
        let mut jit = Jit::with_config(JitConfig {
            threshold,
            chain_limit,
            ..JitConfig::default()
        })
        .unwrap();
        let r = common::run_rom(&rom, Some(&mut jit), 2_000_000_000);
        let ok = r.output == expected && r.exit == Some(1);
        println!(
            "{name}: {} ({} insns; {})",
            if ok { "ok" } else { "FAILED" },
            r.icount,
            jit.stats().to_string().replace('\n', "; ")
        );
        if !ok {
            let first = r
                .output
                .lines()
                .zip(expected.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("got {a:?}, want {b:?}"))
                .unwrap_or_else(|| "output length differs".into());
            println!(
                "  exit {:?}, last {:?}: {first}\n--- output ---\n{}",
                r.exit, r.last, r.output
            );
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "ROMs failed under the JIT: {failed:?}");
}

#[test]
fn roms_compile_everything() {
    check(1, 2048);
}

#[test]
fn roms_hot_blocks_only() {
    check(
        JitConfig::default().threshold,
        JitConfig::default().chain_limit,
    );
}

#[test]
fn jit_is_send() {
    fn send<T: Send>() {}
    send::<Jit>();
}
