//! Lazy EFLAGS in generated code.
//!
//! An arithmetic instruction does not compute its flags: it leaves a
//! [`Recipe`] — the kind of operation, its operand size, operands and
//! result as IR values. A later instruction that reads a flag (Jcc, ADC,
//! SBB, INC/DEC keeping CF) computes just that flag from the recipe; for a
//! compare followed by a conditional jump that is one host compare. At a
//! block exit or a helper call the recipe's inputs are stored in the
//! context and Rust rebuilds EFLAGS with the interpreter's own flag
//! functions ([`runtime::materialize`](crate::runtime::materialize)).

use crate::runtime::{
    self, LF_ADD, LF_DEC, LF_INC, LF_LOGIC, LF_MUL, LF_SAR, LF_SHL, LF_SHR, LF_SUB,
};
use crate::translate::{mask, Tr};
use crane86_cpu::alu::{AluOp, ShiftOp};
use crane86_cpu::state::flags;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::types::{I64, I8};
use cranelift_codegen::ir::{InstBuilder, Value};

/// How the status flags follow from the last flag-setting instruction.
#[derive(Clone, Copy)]
pub struct Recipe {
    /// One of the `LF_*` kinds of [`runtime`](crate::runtime).
    pub kind: u32,
    pub size: u8,
    /// Operands (masked to `size`); for LF_LOGIC `a` is the result.
    pub a: Value,
    pub b: Value,
    /// Carry/borrow in (ADD/SUB), or the kept CF (INC/DEC), 0 or 1.
    pub c: Value,
    /// `c` is the constant 0 (ADD, SUB, CMP).
    pub c_zero: bool,
    /// The result, masked to `size`.
    pub r: Value,
    /// Shift count (shifts only).
    pub count: u32,
}

/// Where the status flags are at a point of the generated code.
#[derive(Clone, Copy)]
pub enum Lazy {
    /// The `ef` variable holds EFLAGS.
    None,
    /// A recipe known at translation time is pending over `ef`.
    Static(Recipe),
    /// A recipe passed across a block edge in the `dk`/`da`/`db`/`dc`
    /// variables (kind 0: none) is pending over `ef`; with `cf`, the `dcf`
    /// variable holds CF (0 or 1).
    Dyn { cf: bool },
}

/// CF, PF, AF, ZF, SF, OF as a mask in EFLAGS bit positions.
pub const STATUS: u32 = flags::STATUS;

/// Flags condition code `cc` reads.
pub fn cc_reads(cc: u8) -> u32 {
    use flags::*;
    match cc >> 1 {
        0 => OF,
        1 => CF,
        2 => ZF,
        3 => CF | ZF,
        4 => SF,
        5 => PF,
        6 => SF | OF,
        _ => SF | OF | ZF,
    }
}

impl Tr<'_, '_> {
    /// The pending flags as (kind | size << 8, a, b, c) values, for an exit
    /// or a helper call (kind 0: EFLAGS is current).
    pub fn lazy_parts(&mut self) -> [Value; 4] {
        match self.lazy {
            Lazy::None => {
                let z = self.c32(0);
                [z, z, z, z]
            }
            Lazy::Static(r) => {
                let ks = self.c32(r.kind | (r.size as u32) << 8);
                [ks, r.a, r.b, r.c]
            }
            Lazy::Dyn { .. } => [
                self.b.use_var(self.dk),
                self.b.use_var(self.da),
                self.b.use_var(self.db),
                self.b.use_var(self.dc),
            ],
        }
    }

    /// Computes EFLAGS from pending lazy flags into `ef`.
    pub fn materialize(&mut self) {
        if matches!(self.lazy, Lazy::None) {
            return;
        }
        let [ks, a, b, c] = self.lazy_parts();
        let ef = self.b.use_var(self.ef);
        let f = runtime::h_flags as *const () as usize;
        let r = self.call(self.sigs.flags, f, &[ks, a, b, c, ef]);
        self.b.def_var(self.ef, r);
        self.lazy = Lazy::None;
    }

    /// The static recipe, if one is pending (a dynamic one is materialised).
    fn recipe(&mut self) -> Option<Recipe> {
        match self.lazy {
            Lazy::Static(r) => Some(r),
            Lazy::None => None,
            Lazy::Dyn { .. } => {
                self.materialize();
                None
            }
        }
    }

    /// EFLAGS (valid while no recipe is pending).
    fn eflags(&mut self) -> Value {
        self.b.use_var(self.ef)
    }

    fn state_bit(&mut self, bit: u32) -> Value {
        let e = self.eflags();
        let m = self.b.ins().band_imm_u(e, bit as i64);
        self.b.ins().icmp_imm_u(IntCC::NotEqual, m, 0)
    }

    fn false8(&mut self) -> Value {
        self.b.ins().iconst(I8, 0)
    }

    // ---- producing recipes -------------------------------------------------------

    /// Two-operand ALU op on masked operands: (result, recipe).
    pub fn alu(&mut self, op: AluOp, x: Value, y: Value, size: u8) -> (Value, Recipe) {
        let m = mask(size) as i64;
        let zero = self.c32(0);
        let (kind, c, c_zero, raw) = match op {
            AluOp::Add => (LF_ADD, zero, true, self.b.ins().iadd(x, y)),
            AluOp::Adc => {
                let cin = self.cf32();
                let s = self.b.ins().iadd(x, y);
                (LF_ADD, cin, false, self.b.ins().iadd(s, cin))
            }
            AluOp::Sub | AluOp::Cmp => (LF_SUB, zero, true, self.b.ins().isub(x, y)),
            AluOp::Sbb => {
                let cin = self.cf32();
                let s = self.b.ins().isub(x, y);
                (LF_SUB, cin, false, self.b.ins().isub(s, cin))
            }
            AluOp::And => (LF_LOGIC, zero, true, self.b.ins().band(x, y)),
            AluOp::Or => (LF_LOGIC, zero, true, self.b.ins().bor(x, y)),
            AluOp::Xor => (LF_LOGIC, zero, true, self.b.ins().bxor(x, y)),
        };
        let r = if size == 4 {
            raw
        } else {
            self.b.ins().band_imm_u(raw, m)
        };
        let (a, b) = if kind == LF_LOGIC { (r, zero) } else { (x, y) };
        let rec = Recipe {
            kind,
            size,
            a,
            b,
            c,
            c_zero,
            r,
            count: 0,
        };
        (r, rec)
    }

    /// INC/DEC of `x`; `cf` is the carry flag to keep (i32 0/1).
    pub fn inc_dec(&mut self, dec: bool, x: Value, cf: Value, size: u8) -> Recipe {
        let raw = self.b.ins().iadd_imm_s(x, if dec { -1 } else { 1 });
        let r = if size == 4 {
            raw
        } else {
            self.b.ins().band_imm_u(raw, mask(size) as i64)
        };
        let one = self.c32(1);
        Recipe {
            kind: if dec { LF_DEC } else { LF_INC },
            size,
            a: x,
            b: one,
            c: cf,
            c_zero: false,
            r,
            count: 0,
        }
    }

    /// SHL/SHR/SAR of the masked `x` by `count` (1..=31).
    pub fn shift(&mut self, op: ShiftOp, x: Value, count: u32, size: u8) -> Recipe {
        let m = mask(size) as i64;
        let (kind, r) = match op {
            ShiftOp::Shl => {
                let s = self.b.ins().ishl_imm_u(x, count as i64);
                (LF_SHL, self.b.ins().band_imm_u(s, m))
            }
            ShiftOp::Shr => (LF_SHR, self.b.ins().ushr_imm_u(x, count as i64)),
            _ => {
                let sx = self.sext(x, size);
                let s = self.b.ins().sshr_imm_u(sx, count as i64);
                (LF_SAR, self.b.ins().band_imm_u(s, m))
            }
        };
        let b = self.c32(count);
        let c = self.c32(0);
        Recipe {
            kind,
            size,
            a: x,
            b,
            c,
            c_zero: true,
            r,
            count,
        }
    }

    // ---- reading flags -----------------------------------------------------------

    /// CF as an i32 0 or 1.
    pub fn cf32(&mut self) -> Value {
        match self.lazy {
            Lazy::Static(r) if matches!(r.kind, LF_INC | LF_DEC) => r.c,
            Lazy::Static(_) => {
                let c = self.cf();
                self.bool32(c)
            }
            Lazy::Dyn { cf: true } => self.b.use_var(self.dcf),
            _ => {
                self.materialize();
                let e = self.eflags();
                self.b.ins().band_imm_u(e, flags::CF as i64)
            }
        }
    }

    fn zext64(&mut self, v: Value) -> Value {
        self.b.ins().uextend(I64, v)
    }

    fn cf(&mut self) -> Value {
        let Some(r) = self.recipe() else {
            return self.state_bit(flags::CF);
        };
        let bits = 8 * r.size as u32;
        match r.kind {
            LF_ADD => {
                if r.size < 4 {
                    let s = self.b.ins().iadd(r.a, r.b);
                    let s = self.b.ins().iadd(s, r.c);
                    self.b
                        .ins()
                        .icmp_imm_u(IntCC::UnsignedGreaterThan, s, mask(r.size) as i64)
                } else if r.c_zero {
                    self.b.ins().icmp(IntCC::UnsignedLessThan, r.r, r.a)
                } else {
                    let a = self.zext64(r.a);
                    let b = self.zext64(r.b);
                    let c = self.zext64(r.c);
                    let s = self.b.ins().iadd(a, b);
                    let s = self.b.ins().iadd(s, c);
                    self.b
                        .ins()
                        .icmp_imm_u(IntCC::UnsignedGreaterThan, s, 0xFFFF_FFFF)
                }
            }
            LF_SUB => {
                if r.c_zero {
                    self.b.ins().icmp(IntCC::UnsignedLessThan, r.a, r.b)
                } else {
                    let a = self.zext64(r.a);
                    let b = self.zext64(r.b);
                    let c = self.zext64(r.c);
                    let bc = self.b.ins().iadd(b, c);
                    self.b.ins().icmp(IntCC::UnsignedLessThan, a, bc)
                }
            }
            LF_INC | LF_DEC | LF_MUL => self.b.ins().icmp_imm_u(IntCC::NotEqual, r.c, 0),
            LF_SHL => {
                if r.count <= bits {
                    let s = self.b.ins().ushr_imm_u(r.a, (bits - r.count) as i64);
                    let s = self.b.ins().band_imm_u(s, 1);
                    self.b.ins().icmp_imm_u(IntCC::NotEqual, s, 0)
                } else {
                    self.false8()
                }
            }
            LF_SHR => {
                let s = self.b.ins().ushr_imm_u(r.a, (r.count - 1) as i64);
                let s = self.b.ins().band_imm_u(s, 1);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, s, 0)
            }
            LF_SAR => {
                let sx = self.sext(r.a, r.size);
                let s = self.b.ins().sshr_imm_u(sx, (r.count - 1) as i64);
                let s = self.b.ins().band_imm_u(s, 1);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, s, 0)
            }
            _ => self.false8(), // LF_LOGIC
        }
    }

    fn zf(&mut self) -> Value {
        match self.recipe() {
            Some(r) => self.b.ins().icmp_imm_u(IntCC::Equal, r.r, 0),
            None => self.state_bit(flags::ZF),
        }
    }

    fn sf(&mut self) -> Value {
        match self.recipe() {
            Some(r) => {
                let sb = 1i64 << (8 * r.size as u32 - 1);
                let s = self.b.ins().band_imm_u(r.r, sb);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, s, 0)
            }
            None => self.state_bit(flags::SF),
        }
    }

    fn pf(&mut self) -> Value {
        match self.recipe() {
            Some(r) => {
                let lo = self.b.ins().band_imm_u(r.r, 0xFF);
                let n = self.b.ins().popcnt(lo);
                let odd = self.b.ins().band_imm_u(n, 1);
                self.b.ins().icmp_imm_u(IntCC::Equal, odd, 0)
            }
            None => self.state_bit(flags::PF),
        }
    }

    fn of(&mut self) -> Value {
        let Some(r) = self.recipe() else {
            return self.state_bit(flags::OF);
        };
        let sb = 1i64 << (8 * r.size as u32 - 1);
        match r.kind {
            LF_ADD | LF_INC => {
                let x = self.b.ins().bxor(r.a, r.r);
                let y = self.b.ins().bxor(r.b, r.r);
                let t = self.b.ins().band(x, y);
                let t = self.b.ins().band_imm_u(t, sb);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, t, 0)
            }
            LF_SUB | LF_DEC => {
                let x = self.b.ins().bxor(r.a, r.b);
                let y = self.b.ins().bxor(r.a, r.r);
                let t = self.b.ins().band(x, y);
                let t = self.b.ins().band_imm_u(t, sb);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, t, 0)
            }
            LF_SHL => {
                let cf = self.cf();
                let s = self.sf();
                self.b.ins().bxor(cf, s)
            }
            LF_MUL => self.b.ins().icmp_imm_u(IntCC::NotEqual, r.c, 0),
            LF_SHR if r.count == 1 => {
                let t = self.b.ins().band_imm_u(r.a, sb);
                self.b.ins().icmp_imm_u(IntCC::NotEqual, t, 0)
            }
            _ => self.false8(),
        }
    }

    /// Condition code `cc` (SDM vol. 1, appendix B) as an i8 boolean.
    pub fn cond(&mut self, cc: u8) -> Value {
        let v = self.cond_pos(cc >> 1);
        if cc & 1 != 0 {
            self.b.ins().bxor_imm_u(v, 1)
        } else {
            v
        }
    }

    fn cond_pos(&mut self, pair: u8) -> Value {
        if let Some(r) = self.recipe() {
            if r.kind == LF_SUB && r.c_zero {
                // CMP a, b / SUB: one compare of the operands.
                let cc = match pair {
                    1 => Some((IntCC::UnsignedLessThan, false)),
                    2 => Some((IntCC::Equal, false)),
                    3 => Some((IntCC::UnsignedLessThanOrEqual, false)),
                    6 => Some((IntCC::SignedLessThan, true)),
                    7 => Some((IntCC::SignedLessThanOrEqual, true)),
                    _ => None,
                };
                if let Some((cc, signed)) = cc {
                    let (a, b) = if signed {
                        (self.sext(r.a, r.size), self.sext(r.b, r.size))
                    } else {
                        (r.a, r.b)
                    };
                    return self.b.ins().icmp(cc, a, b);
                }
            }
            if r.kind == LF_LOGIC {
                match pair {
                    0 | 1 => return self.false8(),
                    3 => return self.zf(),
                    6 => return self.sf(),
                    7 => {
                        let z = self.zf();
                        let s = self.sf();
                        return self.b.ins().bor(z, s);
                    }
                    _ => {}
                }
            }
        } else {
            // Straight from EFLAGS.
            let e = self.eflags();
            let t = match pair {
                3 => self.b.ins().band_imm_u(e, (flags::CF | flags::ZF) as i64),
                6 | 7 => {
                    let s = self.b.ins().ushr_imm_u(e, 7);
                    let o = self.b.ins().ushr_imm_u(e, 11);
                    let x = self.b.ins().bxor(s, o);
                    let mut t = self.b.ins().band_imm_u(x, 1);
                    if pair == 7 {
                        let z = self.b.ins().band_imm_u(e, flags::ZF as i64);
                        t = self.b.ins().bor(t, z);
                    }
                    t
                }
                _ => {
                    let bit =
                        [flags::OF, flags::CF, flags::ZF, 0, flags::SF, flags::PF][pair as usize];
                    self.b.ins().band_imm_u(e, bit as i64)
                }
            };
            return self.b.ins().icmp_imm_u(IntCC::NotEqual, t, 0);
        }
        match pair {
            0 => self.of(),
            1 => self.cf(),
            2 => self.zf(),
            3 => {
                let c = self.cf();
                let z = self.zf();
                self.b.ins().bor(c, z)
            }
            4 => self.sf(),
            5 => self.pf(),
            6 => {
                let s = self.sf();
                let o = self.of();
                self.b.ins().bxor(s, o)
            }
            _ => {
                let s = self.sf();
                let o = self.of();
                let x = self.b.ins().bxor(s, o);
                let z = self.zf();
                self.b.ins().bor(x, z)
            }
        }
    }
}
