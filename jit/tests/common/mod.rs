//! Shared test support: a minimal PC platform (COM1 output, isa-debug-exit)
//! and a runner for the conformance ROMs with or without the JIT.
#![allow(dead_code)]

use crane86_cpu::{BlockEngine, Cpu, Exit, Platform};
use crane86_jit::Jit;
use crane86_mmu::PhysMem;
use std::path::{Path, PathBuf};
use std::process::Command;

/// COM1 transmit, the line status register, debugcon and isa-debug-exit.
#[derive(Default)]
pub struct Plat {
    pub out: Vec<u8>,
    pub exit: Option<u32>,
    /// COM1 line control register (bit 7: divisor latch access).
    lcr: u8,
    /// COM1 scratch register.
    scratch: u8,
}

impl Platform for Plat {
    fn io_read(&mut self, port: u16, size: u8) -> u32 {
        match port {
            0x3FD => 0x60,
            0x3FF => self.scratch as u32,
            _ => u32::MAX >> (32 - 8 * size as u32),
        }
    }
    fn io_write(&mut self, port: u16, _size: u8, value: u32) {
        match port {
            0x3F8 if self.lcr & 0x80 == 0 => self.out.push(value as u8),
            0x3FB => self.lcr = value as u8,
            0x3FF => self.scratch = value as u8,
            0xF4 => self.exit = Some((value << 1) | 1),
            _ => {}
        }
    }
    fn interrupt_pending(&mut self) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        0
    }
    fn stop_requested(&self) -> bool {
        self.exit.is_some()
    }
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("jit/ lives in the workspace")
        .to_path_buf()
}

/// Assembles a ROM source with the conformance suite's include paths.
pub fn assemble(src: &Path) -> Vec<u8> {
    let r = root();
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!(
        "crane86-jit-{}-{seq}-{}.bin",
        std::process::id(),
        src.file_stem().unwrap().to_string_lossy()
    ));
    let nasm = std::env::var("NASM").unwrap_or_else(|_| "nasm".into());
    let mut cmd = Command::new(&nasm);
    cmd.args(["-f", "bin"]);
    for dir in ["test-roms/include", "test-roms/vectors", "test-roms/roms"] {
        cmd.arg("-i").arg(format!("{}/", r.join(dir).display()));
    }
    let res = cmd
        .arg("-o")
        .arg(&out)
        .arg(src)
        .output()
        .unwrap_or_else(|e| panic!("nasm not found ({e}): install it (apt-get install nasm)"));
    assert!(
        res.status.success(),
        "nasm failed on {}:\n{}",
        src.display(),
        String::from_utf8_lossy(&res.stderr)
    );
    let bytes = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    bytes
}

pub struct RomRun {
    pub output: String,
    /// isa-debug-exit status ((value << 1) | 1), if the ROM got there.
    pub exit: Option<u32>,
    pub last: Exit,
    pub icount: u64,
    pub secs: f64,
}

/// Runs a 64 KiB BIOS image until it writes isa-debug-exit, halts with
/// interrupts off, or runs `max` instructions.
pub fn run_rom(rom: &[u8], mut engine: Option<&mut Jit>, max: u64) -> RomRun {
    let mut mem = PhysMem::new(32 << 20, rom).expect("guest memory");
    let mut cpu = Cpu::new();
    let mut plat = Plat::default();
    let t = std::time::Instant::now();
    let last = loop {
        let e = cpu.run_with(
            &mut mem,
            &mut plat,
            1_000_000,
            engine.as_mut().map(|j| &mut **j as &mut dyn BlockEngine),
        );
        if plat.exit.is_some() || cpu.icount >= max {
            break e;
        }
        match e {
            Exit::Yield => {}
            other => break other,
        }
    };
    RomRun {
        output: String::from_utf8_lossy(&plat.out).into_owned(),
        exit: plat.exit,
        last,
        icount: cpu.icount,
        secs: t.elapsed().as_secs_f64(),
    }
}
