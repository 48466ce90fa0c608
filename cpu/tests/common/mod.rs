//! Shared scaffolding for the cpu crate's integration tests: a board with
//! nothing on its ports, and the two CPU set-ups the tests start from.

use crane86_cpu::state::{ar, cr0, SegReg};
use crane86_cpu::{Cpu, Platform};

/// No devices: port reads float high, writes vanish, no interrupts.
pub struct Bus;

impl Platform for Bus {
    fn io_read(&mut self, _port: u16, size: u8) -> u32 {
        u32::MAX >> (32 - 8 * size as u32)
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        0
    }
}

/// 32-bit protected mode with flat 4 GiB code (0x08) and data (0x10)
/// segments, starting at linear `eip`.
pub fn flat_protected(cpu: &mut Cpu, eip: u32) {
    let flat = SegReg {
        selector: 0x10,
        ar: ar::P | ar::S | ar::RW | ar::ACCESSED | ar::DB | ar::G,
        base: 0,
        limit: u32::MAX,
    };
    for s in cpu.s.seg.iter_mut() {
        *s = flat;
    }
    cpu.s.seg[1] = SegReg {
        selector: 0x08,
        ar: flat.ar | ar::CODE,
        ..flat
    };
    cpu.s.cr0 |= cr0::PE;
    cpu.s.eip = eip;
}

/// Real mode with CS = 0x1000 (code at linear 0x10000), IP = 0.
pub fn real_mode_at_1000(cpu: &mut Cpu) {
    cpu.s.seg[1] = SegReg {
        selector: 0x1000,
        base: 0x10000,
        ..cpu.s.seg[1]
    };
    cpu.s.eip = 0;
}
