//! REP MOVS/STOS as the SDM defines them element by element (vol. 2,
//! "REP/REPE/REPZ/REPNE/REPNZ"), also where the interpreter moves whole
//! page-sized runs at once: an overlapping MOVS repeats its first bytes,
//! runs cross pages, and a fault mid-way leaves ECX/EDI at the faulting
//! element with everything before it written.

use crane86_cpu::state::{ar, SegReg, ECX, EDI, ES, ESI};
use crane86_cpu::{Cpu, Exit};
use crane86_mmu::PhysMem;

#[allow(dead_code)] // shared with tests that use all of it
mod common;
use common::Bus;

const CODE: u32 = 0x1_0000;
const GDT: u32 = 0x500;
const IDT: u32 = 0x800;
const GP_HANDLER: u32 = 0x7000;

/// Flat 32-bit protected mode with `code` at CODE followed by HLT, and a
/// #GP handler that halts.
fn machine(code: &[u8]) -> (Cpu, PhysMem) {
    let rom = vec![0xF4u8; 0x10000];
    let mut mem = PhysMem::new(4 << 20, &rom).unwrap();
    let mut bytes = code.to_vec();
    bytes.push(0xF4);
    mem.write_ram(CODE as u64, &bytes);
    mem.write_ram(GP_HANDLER as u64, &[0xF4]);
    let gdt: [u64; 3] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];
    let gdt: Vec<u8> = gdt.iter().flat_map(|d| d.to_le_bytes()).collect();
    mem.write_ram(GDT as u64, &gdt);
    // Vector 13: 32-bit interrupt gate to 08:GP_HANDLER.
    let gate = (GP_HANDLER as u64 & 0xFFFF)
        | 0x08 << 16
        | 0x8E00u64 << 32
        | ((GP_HANDLER as u64) >> 16) << 48;
    mem.write_ram((IDT + 13 * 8) as u64, &gate.to_le_bytes());
    let mut cpu = Cpu::new();
    common::flat_protected(&mut cpu, CODE);
    cpu.s.gdtr.base = GDT;
    cpu.s.gdtr.limit = 0x17;
    cpu.s.idtr.base = IDT;
    cpu.s.idtr.limit = 0xFF;
    cpu.s.gpr[4] = 0x9000;
    (cpu, mem)
}

fn run_to_hlt(cpu: &mut Cpu, mem: &mut PhysMem) {
    for _ in 0..1000 {
        match cpu.run(mem, &mut Bus, 10_000) {
            Exit::Yield => {}
            Exit::Halted => return,
            e => panic!("unexpected exit {e:?}"),
        }
    }
    panic!("did not halt");
}

#[test]
fn overlapping_movs_repeats_the_first_bytes() {
    let (mut cpu, mut mem) = machine(&[0xF3, 0xA4]); // rep movsb
    mem.write_ram(0x2_0000, b"ab");
    cpu.s.gpr[ESI] = 0x2_0000;
    cpu.s.gpr[EDI] = 0x2_0001;
    cpu.s.gpr[ECX] = 5000; // crosses a page boundary
    run_to_hlt(&mut cpu, &mut mem);
    assert!(mem.ram()[0x2_0000..0x2_0000 + 5001]
        .iter()
        .all(|&b| b == b'a'));
    assert_eq!(mem.ram()[0x2_0000 + 5001], 0);
    assert_eq!(cpu.s.gpr[ECX], 0);
    assert_eq!(cpu.s.gpr[ESI], 0x2_0000 + 5000);
    assert_eq!(cpu.s.gpr[EDI], 0x2_0001 + 5000);
    assert_eq!(cpu.s.eip, CODE + 3);
}

#[test]
fn movs_and_stos_across_pages() {
    let src: Vec<u8> = (0..0x5000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    mem_case(&src);
}

fn mem_case(src: &[u8]) {
    // rep movsd from 0x21003 (unaligned) to 0x30FFE, then rep stosw.
    let (mut cpu, mut mem) = machine(&[0xF3, 0xA5, 0x66, 0xF3, 0xAB]);
    mem.write_ram(0x2_1003, src);
    cpu.s.gpr[ESI] = 0x2_1003;
    cpu.s.gpr[EDI] = 0x3_0FFE;
    cpu.s.gpr[ECX] = (src.len() / 4) as u32;
    run_to_hlt(&mut cpu, &mut mem);
    assert_eq!(&mem.ram()[0x3_0FFE..0x3_0FFE + src.len()], src);
    // The stosw ran with ECX = 0 after the movsd: nothing more written.
    assert_eq!(cpu.s.gpr[EDI], 0x3_0FFE + src.len() as u32);
    assert_eq!(mem.ram()[0x3_0FFE + src.len()], 0);

    let (mut cpu, mut mem) = machine(&[0x66, 0xF3, 0xAB]); // rep stosw
    cpu.s.gpr[0] = 0xBEEF;
    cpu.s.gpr[EDI] = 0x4_0FFF;
    cpu.s.gpr[ECX] = 0x1801;
    run_to_hlt(&mut cpu, &mut mem);
    let filled = &mem.ram()[0x4_0FFF..0x4_0FFF + 0x3002];
    assert!(filled.chunks(2).all(|w| w == [0xEF, 0xBE]));
    assert_eq!(mem.ram()[0x4_0FFF + 0x3002], 0);
    assert_eq!(cpu.s.gpr[EDI], 0x4_0FFF + 0x3002);
}

#[test]
fn fault_mid_stos_leaves_the_faulting_element() {
    let (mut cpu, mut mem) = machine(&[0xF3, 0xAB]); // rep stosd
                                                     // ES: byte-granular data segment, offsets 0..=0x30003.
    cpu.s.seg[ES] = SegReg {
        selector: 0x10,
        ar: ar::P | ar::S | ar::RW | ar::ACCESSED | ar::DB,
        base: 0,
        limit: 0x3_0003,
    };
    cpu.s.gpr[0] = 0x1122_3344;
    cpu.s.gpr[EDI] = 0x2_F000;
    cpu.s.gpr[ECX] = 0x2000;
    run_to_hlt(&mut cpu, &mut mem);
    // In the #GP handler, having faulted on the element at 0x30004.
    assert_eq!(cpu.s.eip, GP_HANDLER + 1);
    assert_eq!(cpu.s.gpr[EDI], 0x3_0004);
    assert_eq!(cpu.s.gpr[ECX], 0x2000 - 0x401);
    let ram = mem.ram();
    assert_eq!(&ram[0x3_0000..0x3_0004], &[0x44, 0x33, 0x22, 0x11]);
    assert_eq!(&ram[0x3_0004..0x3_0008], &[0, 0, 0, 0]);
    assert!(ram[0x2_F000..0x3_0004]
        .chunks(4)
        .all(|w| w == [0x44, 0x33, 0x22, 0x11]));
}
