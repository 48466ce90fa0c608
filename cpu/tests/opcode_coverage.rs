//! Every one- and two-byte opcode (with register and memory ModRM forms and
//! every /reg extension) decoded in 16- and 32-bit code either executes or
//! raises a guest exception: none reaches "not implemented". This is the
//! check that the whole 8086–P6 integer, system and x87 set is covered.

use crane86_cpu::{Cpu, Exit};

mod common;
use common::Bus;
use crane86_mmu::PhysMem;

fn run_one(code: &[u8], protected: bool) -> Exit {
    let rom = vec![0xF4u8; 0x10000];
    let mut mem = PhysMem::new(2 << 20, &rom).unwrap();
    mem.write_ram(0x10000, code);
    let mut cpu = Cpu::new();
    if protected {
        common::flat_protected(&mut cpu, 0x10000);
    } else {
        common::real_mode_at_1000(&mut cpu);
    }
    cpu.s.gpr[4] = 0x8000;
    cpu.run(&mut mem, &mut Bus, 1)
}

#[test]
fn no_opcode_is_unimplemented() {
    let mut missing = Vec::new();
    let mut tried = 0;
    for protected in [false, true] {
        for prefix in [&[][..], &[0x0F][..]] {
            for op in 0..=255u8 {
                if prefix.is_empty() && op == 0x0F {
                    continue;
                }
                // Register form, every /reg; and a memory form ([disp] in
                // 16-bit code, [disp32] in 32-bit code).
                let mut forms = Vec::new();
                for reg in 0..8u8 {
                    forms.push(vec![0xC0 | reg << 3, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]);
                    let m = if protected { 0x05 } else { 0x06 };
                    forms.push(vec![m | reg << 3, 0x00, 0x30, 0x00, 0x00, 0x01, 0x02]);
                }
                for tail in forms {
                    let mut code = prefix.to_vec();
                    code.push(op);
                    code.extend_from_slice(&tail);
                    code.extend_from_slice(&[0x90; 8]);
                    tried += 1;
                    if let Exit::Unimplemented(msg) = run_one(&code, protected) {
                        missing.push(msg);
                    }
                }
            }
        }
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "{} of {tried} encodings not implemented:\n{}",
        missing.len(),
        missing.join("\n")
    );
}
