//! x87 instructions run by the interpreter on hand-assembled code in flat
//! 32-bit protected mode (and real mode for the real-mode layouts).

use super::softfloat::{from_i64, F80};
use super::sw;
use crate::state::{ar, cr0, SegReg};
use crate::{Cpu, Exit, Platform};
use crane86_mmu::PhysMem;
use std::ops::Neg;

#[derive(Default)]
struct Bus {
    ferr: Vec<bool>,
}

impl Platform for Bus {
    fn io_read(&mut self, _port: u16, _size: u8) -> u32 {
        0
    }
    fn io_write(&mut self, _port: u16, _size: u8, _value: u32) {}
    fn interrupt_pending(&mut self) -> bool {
        false
    }
    fn acknowledge_interrupt(&mut self) -> u8 {
        0
    }
    fn fpu_error(&mut self, asserted: bool) {
        self.ferr.push(asserted);
    }
}

const CODE: u32 = 0x10000;
const DATA: u32 = 0x20000;
const HANDLERS: u32 = 0x30000;
const IDT: u32 = 0x800;

struct M {
    cpu: Cpu,
    mem: PhysMem,
    bus: Bus,
}

impl M {
    fn new(real: bool) -> M {
        let rom = vec![0xF4u8; 0x10000];
        let mut mem = PhysMem::new(2 << 20, &rom).unwrap();
        let mut cpu = Cpu::new();
        cpu.s.fpu.init();
        if real {
            cpu.s.seg[1] = SegReg {
                selector: 0x1000,
                base: CODE,
                ..cpu.s.seg[1]
            };
            cpu.s.seg[3] = SegReg::real(0x2000);
            cpu.s.eip = 0;
        } else {
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
            cpu.s.cr0 |= cr0::PE | cr0::NE;
            let gdt: [u64; 3] = [0, 0x00CF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF];
            for (k, d) in gdt.iter().enumerate() {
                mem.write_ram(0x100 + 8 * k as u64, &d.to_le_bytes());
            }
            cpu.s.gdtr.base = 0x100;
            cpu.s.gdtr.limit = 0x17;
            cpu.s.idtr.base = IDT;
            cpu.s.idtr.limit = 0x7FF;
            // Vector v: mov eax, v; hlt
            for v in 0..32u32 {
                let h = HANDLERS + 16 * v;
                let mut e = [0u8; 8];
                e[0..2].copy_from_slice(&(h as u16).to_le_bytes());
                e[2..4].copy_from_slice(&8u16.to_le_bytes());
                e[5] = 0x8E;
                e[6..8].copy_from_slice(&((h >> 16) as u16).to_le_bytes());
                mem.write_ram((IDT + 8 * v) as u64, &e);
                let mut c = vec![0xB8];
                c.extend_from_slice(&v.to_le_bytes());
                c.push(0xF4);
                mem.write_ram(h as u64, &c);
            }
            cpu.s.eip = CODE;
            cpu.s.gpr[4] = 0x9000;
        }
        M {
            cpu,
            mem,
            bus: Bus::default(),
        }
    }

    /// Runs `code` (HLT appended) and returns the vector of the exception
    /// taken, if any.
    fn run(&mut self, code: &[u8]) -> Option<u32> {
        let mut c = code.to_vec();
        c.push(0xF4);
        self.cpu.s.gpr[0] = 0xFFFF_FFFF;
        self.mem.write_ram(CODE as u64, &c);
        let r = self.cpu.run(&mut self.mem, &mut self.bus, 10_000);
        assert_eq!(r, Exit::Halted);
        let eip = self.cpu.s.eip;
        if (HANDLERS..HANDLERS + 0x200).contains(&eip) {
            Some(self.cpu.s.gpr[0])
        } else {
            None
        }
    }

    fn put(&mut self, off: u32, b: &[u8]) {
        self.mem.write_ram((DATA + off) as u64, b);
    }
    fn put_f80(&mut self, off: u32, v: F80) {
        self.put(off, &super::f80_bytes(v));
    }
    fn get(&mut self, off: u32, n: usize) -> Vec<u8> {
        (0..n)
            .map(|k| self.mem.read((DATA + off) as u64 + k as u64, 1) as u8)
            .collect()
    }
    fn get_f80(&mut self, off: u32) -> F80 {
        super::f80_from_bytes(&self.get(off, 10))
    }
    fn st(&self, i: usize) -> F80 {
        self.cpu.s.fpu.st(i)
    }
}

/// An x87 instruction with a [disp32] memory operand (flat mode).
fn m(op: u8, reg: u8, off: u32) -> Vec<u8> {
    let mut v = vec![op, reg << 3 | 5];
    v.extend_from_slice(&(DATA + off).to_le_bytes());
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

const FLD1: &[u8] = &[0xD9, 0xE8];
const FLDZ: &[u8] = &[0xD9, 0xEE];
const FLDPI: &[u8] = &[0xD9, 0xEB];

#[test]
fn load_store_80_and_stack() {
    let mut t = M::new(false);
    let v = F80::new(true, 0x4123, 0x8123_4567_89AB_CDEF);
    t.put_f80(0, v);
    let code = cat(&[&m(0xDB, 5, 0), FLD1, &m(0xDB, 7, 16), &m(0xDB, 7, 32)]);
    assert_eq!(t.run(&code), None);
    assert_eq!(t.get_f80(16), F80::ONE);
    assert_eq!(t.get_f80(32), v);
    let f = &t.cpu.s.fpu;
    assert_eq!(f.top(), 0);
    assert_eq!(f.ftw, 0);
    assert_eq!(f.fsw & 0x3F, 0);
    // FOP of FSTP m80 [disp32]: DB /7 mod 00 rm 101
    assert_eq!(f.fop, 0x33D);
    assert_eq!(f.fdp, DATA + 32);
    assert_eq!(f.fip, CODE + 6 + 2 + 6);
}

#[test]
fn stack_overflow_and_underflow() {
    let mut t = M::new(false);
    let code: Vec<u8> = std::iter::repeat_n(FLD1, 9).flatten().copied().collect();
    assert_eq!(t.run(&code), None);
    let f = &t.cpu.s.fpu;
    assert_eq!(f.fsw & 0x7F, sw::IE | sw::SF);
    assert!(f.fsw & sw::C1 != 0, "overflow: C1 = 1");
    assert_eq!(f.st(0), F80::INDEFINITE);
    assert_eq!(f.ftw, 0xFF);
    // underflow: FADD ST0, ST1 with an empty stack
    let mut t = M::new(false);
    assert_eq!(t.run(&[0xD8, 0xC1]), None);
    let f = &t.cpu.s.fpu;
    assert_eq!(f.fsw & 0x7F, sw::IE | sw::SF);
    assert!(f.fsw & sw::C1 == 0);
    assert_eq!(f.st(0), F80::INDEFINITE);
}

#[test]
fn arithmetic_and_pops() {
    let mut t = M::new(false);
    t.put(0, &3i32.to_le_bytes());
    // fild [3]; fld1; fdivrp st1, st0 (st1 = st0 / st1 = 1/3); fstp m80
    let code = cat(&[&m(0xDB, 0, 0), FLD1, &[0xDE, 0xF1]]);
    assert_eq!(t.run(&code), None);
    assert_eq!(t.st(0), F80::new(false, 0x3FFD, 0xAAAA_AAAA_AAAA_AAAB));
    let f = &t.cpu.s.fpu;
    assert_eq!(f.fsw & 0x3F, 0x20);
    assert!(f.fsw & sw::C1 != 0, "rounded up");
    // PC=24, RC=down: 1/3
    let mut t = M::new(false);
    t.put(0, &3i32.to_le_bytes());
    t.put(4, &0x047Fu16.to_le_bytes());
    let code = cat(&[
        &m(0xD9, 5, 4),
        &m(0xDB, 0, 0),
        FLD1,
        &[0xDE, 0xF1],
        &m(0xD9, 3, 16),
    ]);
    assert_eq!(t.run(&code), None);
    assert_eq!(t.get(16, 4), 0x3EAA_AAAAu32.to_le_bytes());
    // FIADD m16 and FISTP m64
    let mut t = M::new(false);
    t.put(0, &(-5i16).to_le_bytes());
    let code = cat(&[FLDPI, &m(0xDE, 0, 0), &m(0xDF, 7, 8)]);
    assert_eq!(t.run(&code), None);
    assert_eq!(t.get(8, 8), (-2i64).to_le_bytes());
}

#[test]
fn constants_follow_rounding_control() {
    for (rc, pi_lo) in [(0u16, 0x35u8), (1, 0x34), (2, 0x35), (3, 0x34)] {
        let mut t = M::new(false);
        t.put(0, &(0x037F | rc << 10).to_le_bytes());
        let code = cat(&[&m(0xD9, 5, 0), FLDPI, &m(0xDB, 7, 16)]);
        assert_eq!(t.run(&code), None);
        let v = t.get_f80(16);
        assert_eq!(v.se, 0x4000);
        assert_eq!(v.mant, 0xC90F_DAA2_2168_C200 | pi_lo as u64, "rc {rc}");
    }
}

#[test]
fn fxam_classes() {
    let cases: [(F80, u16); 6] = [
        (F80::ONE, sw::C2),
        (F80::ZERO, sw::C3),
        (F80::INF.neg(), sw::C2 | sw::C0 | sw::C1),
        (F80::INDEFINITE, sw::C0 | sw::C1),
        (F80::new(false, 0, 5), sw::C3 | sw::C2),
        (F80::new(false, 0x3FFF, 5), 0),
    ];
    for (v, cc) in cases {
        let mut t = M::new(false);
        t.put_f80(0, v);
        assert_eq!(t.run(&cat(&[&m(0xDB, 5, 0), &[0xD9, 0xE5]])), None);
        assert_eq!(t.cpu.s.fpu.fsw & sw::CC, cc, "{v:X?}");
    }
    // empty
    let mut t = M::new(false);
    assert_eq!(t.run(&[0xD9, 0xE5]), None);
    assert_eq!(
        t.cpu.s.fpu.fsw & (sw::C3 | sw::C2 | sw::C0),
        sw::C3 | sw::C0
    );
}

#[test]
fn fcomi_flags_and_fcom_codes() {
    use crate::state::flags::*;
    // st0 = 1, st1 = pi → less
    let mut t = M::new(false);
    t.cpu.s.eflags |= OF | SF | AF;
    assert_eq!(t.run(&cat(&[FLDPI, FLD1, &[0xDB, 0xF1]])), None);
    assert_eq!(t.cpu.s.eflags & (ZF | PF | CF | OF | SF | AF), CF);
    // equal, with FCOMIP popping
    let mut t = M::new(false);
    assert_eq!(t.run(&cat(&[FLD1, FLD1, &[0xDF, 0xF1]])), None);
    assert_eq!(t.cpu.s.eflags & (ZF | PF | CF), ZF);
    assert_eq!(t.cpu.s.fpu.top(), 7);
    // unordered through FUCOMI with a QNaN: no IE
    let mut t = M::new(false);
    t.put_f80(0, F80::INDEFINITE);
    assert_eq!(t.run(&cat(&[FLD1, &m(0xDB, 5, 0), &[0xDB, 0xE9]])), None);
    assert_eq!(t.cpu.s.eflags & (ZF | PF | CF), ZF | PF | CF);
    assert_eq!(t.cpu.s.fpu.fsw & sw::IE, 0);
    // FCOM: greater → C3 C2 C0 = 000; FCOMPP pops twice; FSTSW AX
    let mut t = M::new(false);
    assert_eq!(
        t.run(&cat(&[FLD1, FLDPI, &[0xDE, 0xD9], &[0xDF, 0xE0]])),
        None
    );
    assert_eq!(t.cpu.s.gpr[0] as u16 & sw::CC, 0);
    assert_eq!(t.cpu.s.fpu.ftw, 0);
    // FTST on -1: less
    let mut t = M::new(false);
    assert_eq!(t.run(&cat(&[FLD1, &[0xD9, 0xE0], &[0xD9, 0xE4]])), None);
    assert_eq!(t.cpu.s.fpu.fsw & sw::CC, sw::C0);
}

#[test]
fn fsave_frstor_round_trip_protected_32() {
    let mut t = M::new(false);
    t.put(0, &7i32.to_le_bytes());
    let code = cat(&[
        &m(0xDB, 0, 0),  // fild 7
        FLDPI,           // pi
        FLDZ,            // 0
        &m(0xDD, 6, 64), // fnsave [64]
    ]);
    assert_eq!(t.run(&code), None);
    let img = t.get(64, 108);
    let w = |k: usize| u32::from_le_bytes(img[4 * k..4 * k + 4].try_into().unwrap());
    assert_eq!(w(0) & 0xFFFF, 0x037F);
    assert_eq!((w(1) >> 11) & 7, 5, "TOP");
    // tags: R5 zero (01), R6 valid (00), R7 valid (00), others empty (11)
    assert_eq!(w(2) & 0xFFFF, 0x07FF | 0x0400);
    assert_eq!(w(3), CODE + 8, "FIP at FLDZ");
    assert_eq!(w(4) & 0xFFFF, 8, "FCS");
    assert_eq!(w(4) >> 16, 0x1EE, "FOP of FLDZ");
    assert_eq!(w(5), DATA, "FDP of the FILD");
    assert_eq!(w(6) & 0xFFFF, 0x10);
    assert_eq!(super::f80_from_bytes(&img[28..38]), F80::ZERO);
    assert_eq!(super::f80_from_bytes(&img[48..58]), from_i64(7));
    // FNSAVE reinitialized
    assert_eq!(t.cpu.s.fpu.ftw, 0);
    assert_eq!(t.cpu.s.fpu.fcw, 0x037F);
    let mut t2 = M::new(false);
    t2.put(64, &img);
    assert_eq!(t2.run(&m(0xDD, 4, 64)), None);
    let f = &t2.cpu.s.fpu;
    assert_eq!(f.top(), 5);
    assert_eq!(f.st(0), F80::ZERO);
    assert_eq!(f.st(2), from_i64(7));
    assert_eq!(f.ftw, 0xE0);
    assert_eq!(f.fip, CODE + 8);
}

#[test]
fn fnstenv_real_mode_16_bit_layout() {
    let mut t = M::new(true);
    // real mode: DS = 0x2000 (DATA). fld1 at 1000:0000; fnstenv [0x40]
    let code = [0xD9, 0xE8, 0xD9, 0x36, 0x40, 0x00];
    assert_eq!(t.run(&code), None);
    let img = t.get(0x40, 14);
    let w = |k: usize| u16::from_le_bytes([img[2 * k], img[2 * k + 1]]);
    assert_eq!(w(0), 0x037F);
    assert_eq!(w(2), 0x3FFF, "tag: R7 valid");
    assert_eq!(w(3), 0x0000, "IP[15:0] of linear 0x10000");
    assert_eq!(w(4), 0x1000 | 0x1E8, "IP[19:16] and FOP");
    // FNSTENV masked all exceptions
    assert_eq!(t.cpu.s.fpu.fcw, 0x037F);
    // FLDENV back in real mode
    let mut t2 = M::new(true);
    t2.put(0x40, &img);
    assert_eq!(t2.run(&[0xD9, 0x26, 0x40, 0x00]), None);
    assert_eq!(t2.cpu.s.fpu.fip, CODE);
    assert_eq!(t2.cpu.s.fpu.fop, 0x1E8);
    assert_eq!(t2.cpu.s.fpu.ftw, 0x80);
}

#[test]
fn fxsave_fxrstor() {
    let mut t = M::new(false);
    let code = cat(&[
        FLD1,
        FLDPI,
        &[0x0F, 0xAE, 0x05],
        &(DATA + 0x100).to_le_bytes(),
    ]);
    assert_eq!(t.run(&code), None);
    let img = t.get(0x100, 512);
    assert_eq!(u16::from_le_bytes([img[0], img[1]]), 0x037F);
    assert_eq!(img[4], 0xC0, "abridged tag");
    assert_eq!(u32::from_le_bytes(img[24..28].try_into().unwrap()), 0x1F80);
    assert_eq!(u32::from_le_bytes(img[28..32].try_into().unwrap()), 0xFFBF);
    assert_eq!(super::f80_from_bytes(&img[48..58]), F80::ONE);
    let mut t2 = M::new(false);
    t2.put(0x200, &img);
    assert_eq!(
        t2.run(&cat(&[&[0x0F, 0xAE, 0x0D], &(DATA + 0x200).to_le_bytes()])),
        None
    );
    assert_eq!(t2.cpu.s.fpu.st(1), F80::ONE);
    assert_eq!(t2.cpu.s.fpu.top(), 6);
    // misaligned: #GP
    let mut t3 = M::new(false);
    assert_eq!(
        t3.run(&cat(&[&[0x0F, 0xAE, 0x05], &(DATA + 8).to_le_bytes()])),
        Some(13)
    );
}

#[test]
fn nm_and_mf() {
    // CR0.TS: #NM for x87, not for WAIT unless MP
    let mut t = M::new(false);
    t.cpu.s.cr0 |= cr0::TS;
    assert_eq!(t.run(&[0x9B]), None);
    let mut t = M::new(false);
    t.cpu.s.cr0 |= cr0::TS;
    assert_eq!(t.run(FLD1), Some(7));
    let mut t = M::new(false);
    t.cpu.s.cr0 |= cr0::TS | cr0::MP;
    assert_eq!(t.run(&[0x9B]), Some(7));
    let mut t = M::new(false);
    t.cpu.s.cr0 |= cr0::EM;
    assert_eq!(t.run(&[0xDB, 0xE3]), Some(7));
    // unmasked ZE: the FDIV completes (no result), #MF at the next FP insn
    let mut t = M::new(false);
    t.put(0, &0x037Bu16.to_le_bytes());
    let code = cat(&[
        &m(0xD9, 5, 0),
        FLDZ,
        FLD1,
        &[0xD8, 0xF1],
        &[0xDF, 0xE0],
        FLD1,
    ]);
    assert_eq!(t.run(&code), Some(16));
    assert_eq!(t.cpu.s.gpr[0], 16);
    let f = &t.cpu.s.fpu;
    assert_eq!(f.fsw & 0x80BF, 0x8084);
    assert_eq!(f.st(0), F80::ONE, "destination unchanged");
    assert_eq!(f.fip, CODE + 6 + 2 + 2, "FIP at the FDIV");
    // CR0.NE=0: FERR# instead, and the instruction runs
    let mut t = M::new(false);
    t.cpu.s.cr0 &= !cr0::NE;
    t.put(0, &0x037Bu16.to_le_bytes());
    let code = cat(&[
        &m(0xD9, 5, 0),
        FLDZ,
        FLD1,
        &[0xD8, 0xF1],
        FLD1,
        &[0xDB, 0xE2],
    ]);
    assert_eq!(t.run(&code), None);
    assert_eq!(t.bus.ferr, vec![true, false]);
    assert_eq!(t.cpu.s.fpu.top(), 5);
}

#[test]
fn memory_fault_leaves_state() {
    let mut t = M::new(false);
    // fld1; fstp m80 at a segment-limit-violating offset via DS limit
    t.cpu.s.seg[3].limit = DATA + 4;
    t.cpu.s.seg[3].ar &= !ar::G;
    let code = cat(&[FLD1, &[0x3E], &m(0xDB, 7, 0)]);
    assert_eq!(t.run(&code), Some(13));
    let f = &t.cpu.s.fpu;
    assert_eq!(f.top(), 7);
    assert_eq!(f.st(0), F80::ONE);
    assert_eq!(t.get(0, 4), vec![0, 0, 0, 0]);
}

#[test]
fn transcendentals() {
    let mut t = M::new(false);
    // fldpi; fld1; fld1; faddp; fdivp → pi/2... use pi/6: fldpi / 6
    t.put(0, &6i32.to_le_bytes());
    let code = cat(&[FLDPI, &m(0xDA, 6, 0), &[0xD9, 0xFE], &m(0xDB, 7, 16)]);
    assert_eq!(t.run(&code), None);
    let s = t.get_f80(16);
    // sin(pi/6) = 0.5 within an ulp or two (the argument is pi/6 rounded)
    assert_eq!(s.se, 0x3FFE);
    assert!(s.mant.abs_diff(1 << 63) < 4, "{s:X?}");
    // fptan(0.5 rad) pushes 1.0
    let mut t = M::new(false);
    let code = cat(&[
        FLD1,
        FLD1,
        FLD1,
        &[0xDE, 0xC1],
        &[0xDE, 0xF9],
        &[0xD9, 0xF2],
    ]);
    assert_eq!(t.run(&code), None);
    assert_eq!(t.st(0), F80::ONE);
    // tan(0.5) = 0.54630248984379051326...
    assert_eq!(t.st(1).se, 0x3FFE);
    assert!(
        t.st(1).mant.abs_diff(0x8BDA_7ADF_9A3A_5219) <= 1,
        "{:X?}",
        t.st(1)
    );
    // fpatan(1, 1) = pi/4
    let mut t = M::new(false);
    assert_eq!(t.run(&cat(&[FLD1, FLD1, &[0xD9, 0xF3]])), None);
    assert_eq!(t.st(0), F80::new(false, 0x3FFE, 0xC90F_DAA2_2168_C235));
    assert_eq!(t.cpu.s.fpu.top(), 7);
    // fyl2x(y=1, x=8) = 3 exactly; f2xm1(1) = 1 exactly
    let mut t = M::new(false);
    t.put(0, &8i32.to_le_bytes());
    assert_eq!(t.run(&cat(&[FLD1, &m(0xDB, 0, 0), &[0xD9, 0xF1]])), None);
    assert_eq!(t.st(0), from_i64(3));
    assert_eq!(t.cpu.s.fpu.fsw & 0x20, 0);
    let mut t = M::new(false);
    assert_eq!(t.run(&cat(&[FLD1, &[0xD9, 0xF0]])), None);
    assert_eq!(t.st(0), F80::ONE);
    // fsin of 2^63: C2 set, operand unchanged
    let mut t = M::new(false);
    t.put_f80(0, F80::new(false, 0x3FFF + 63, 1 << 63));
    assert_eq!(t.run(&cat(&[&m(0xDB, 5, 0), &[0xD9, 0xFE]])), None);
    assert!(t.cpu.s.fpu.fsw & sw::C2 != 0);
    assert_eq!(t.st(0).exp(), 0x3FFF + 63);
    // fsincos(1): sin 1 = 0.84147098480789650665, cos 1 = 0.54030230586813971740
    let mut t = M::new(false);
    assert_eq!(t.run(&cat(&[FLD1, &[0xD9, 0xFB]])), None);
    assert!(
        t.st(1).mant.abs_diff(0xD76A_A478_4867_7021) <= 1,
        "{:X?}",
        t.st(1)
    );
    assert!(
        t.st(0).mant.abs_diff(0x8A51_407D_A834_5C92) <= 1,
        "{:X?}",
        t.st(0)
    );
}

#[test]
fn fbld_fbstp_and_fcmov() {
    let mut t = M::new(false);
    let b = [0x21, 0x43, 0x65, 0x87, 0x09, 0, 0, 0, 0, 0x80];
    t.put(0, &b);
    assert_eq!(t.run(&cat(&[&m(0xDF, 4, 0), &m(0xDF, 6, 16)])), None);
    assert_eq!(t.get(16, 10), b.to_vec());
    // fcmovb: CF=1 moves
    let mut t = M::new(false);
    t.cpu.s.eflags |= crate::state::flags::CF;
    assert_eq!(t.run(&cat(&[FLDPI, FLDZ, &[0xDA, 0xC1]])), None);
    assert_eq!(t.st(0).se, 0x4000);
    let mut t = M::new(false);
    assert_eq!(t.run(&cat(&[FLDPI, FLDZ, &[0xDA, 0xC1]])), None);
    assert_eq!(t.st(0), F80::ZERO);
}
