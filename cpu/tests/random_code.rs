//! Robustness: random bytes executed as code, in real mode and in 32-bit
//! protected mode, must end in guest exceptions, triple faults or
//! "not implemented" exits — never a panic of the emulator.

use crane86_cpu::{Cpu, Exit};

mod common;
use common::Bus;
use crane86_mmu::PhysMem;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

fn run_random(seed: u64, protected: bool) -> Exit {
    let mut rng = Lcg(seed);
    let rom = vec![0xF4u8; 0x10000];
    let mut mem = PhysMem::new(2 << 20, &rom).unwrap();
    let code: Vec<u8> = (0..0x4000).map(|_| rng.next() as u8).collect();
    mem.write_ram(0x10000, &code);
    // Random data elsewhere too: IVT/IDT/GDT contents are garbage.
    let junk: Vec<u8> = (0..0x1000).map(|_| rng.next() as u8).collect();
    mem.write_ram(0, &junk);
    let mut cpu = Cpu::new();
    if protected {
        common::flat_protected(&mut cpu, 0x10000);
        cpu.s.gdtr.base = 0x100;
        cpu.s.gdtr.limit = 0xFF;
        cpu.s.idtr.base = 0x800;
        cpu.s.idtr.limit = 0x7FF;
        cpu.s.gpr[4] = 0x9000;
    } else {
        common::real_mode_at_1000(&mut cpu);
        cpu.s.gpr[4] = 0x9000;
    }
    let mut bus = Bus;
    let mut last = Exit::Yield;
    for _ in 0..50 {
        last = cpu.run(&mut mem, &mut bus, 2000);
        match last {
            Exit::Yield => continue,
            Exit::Halted if cpu.s.eflags & 0x200 == 0 => break,
            Exit::Halted => continue,
            _ => break,
        }
    }
    last
}

#[test]
fn random_code_never_panics() {
    let seeds: Vec<u64> = (1..=150).collect();
    let mut outcomes = std::collections::BTreeMap::new();
    for &seed in &seeds {
        for pm in [false, true] {
            let e = run_random(seed, pm);
            let k = match e {
                Exit::Yield => "yield",
                Exit::Halted => "halted",
                Exit::TripleFault => "triple fault",
                Exit::Unimplemented(ref m) => {
                    if std::env::var("SHOW").is_ok() {
                        println!("{m}");
                    }
                    "unimplemented"
                }
            };
            *outcomes.entry(k).or_insert(0) += 1;
        }
    }
    println!("seeds 1..=150, real and protected mode: {outcomes:?}");
    assert!(outcomes.values().sum::<i32>() == 300);
}
