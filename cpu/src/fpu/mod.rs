//! The x87 FPU (SDM vol. 1, ch. 8): the register stack, control, status and
//! tag words, the last-instruction pointers, and every x87 instruction of
//! the 387 and the Pentium Pro, plus FXSAVE/FXRSTOR.
//!
//! Arithmetic is exact 80-bit extended precision in software
//! ([`softfloat`]); the transcendental functions are computed in 113-bit
//! quad precision (rustc_apfloat) and rounded once ([`transcendental`]).
//!
//! Exceptions: a masked exception produces the SDM's masked response; an
//! unmasked one sets the flag and ES/B in the status word, and the next
//! waiting x87 instruction raises #MF (CR0.NE=1) or asserts FERR# through
//! [`crate::Platform::fpu_error`] (CR0.NE=0, the PC's IRQ 13) and goes on.
//! CR0.EM or CR0.TS make every x87 instruction raise #NM; WAIT raises #NM
//! only when both CR0.MP and CR0.TS are set.

mod arith;
mod compare;
mod control;
mod fxsave;
mod load_store;
pub mod softfloat;
mod transcendental;

#[cfg(test)]
mod tests;

use crate::exception::{vector, Exception, Result};
use crate::exec::{addr16, Exec};
use crate::state::{cr0, CS};
use iced_x86::{Code, Instruction, OpKind, Register};
pub use softfloat::F80;
use softfloat::{Ctx, PE, SF};

/// Status word bits.
pub mod sw {
    pub const IE: u16 = 1 << 0;
    pub const SF: u16 = 1 << 6;
    pub const ES: u16 = 1 << 7;
    pub const C0: u16 = 1 << 8;
    pub const C1: u16 = 1 << 9;
    pub const C2: u16 = 1 << 10;
    pub const TOP: u16 = 7 << 11;
    pub const C3: u16 = 1 << 14;
    pub const B: u16 = 1 << 15;
    pub const CC: u16 = C0 | C1 | C2 | C3;
}

/// The x87 (and MXCSR) state of one vCPU.
#[repr(C)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpuState {
    /// Physical data registers R0–R7 (ST(i) is R((TOP + i) mod 8)).
    pub regs: [F80; 8],
    pub fcw: u16,
    /// Status word, TOP in bits 11–13.
    pub fsw: u16,
    /// Abridged tag word: bit i set when R(i) is not empty. The full tags
    /// are derived from the contents when saved (SDM 8.1.7).
    pub ftw: u8,
    /// FERR# is asserted (reported to the board).
    pub ferr: bool,
    /// Opcode of the last non-control instruction (11 bits).
    pub fop: u16,
    pub fip: u32,
    pub fcs: u16,
    pub fds: u16,
    pub fdp: u32,
    pub mxcsr: u32,
}

impl Default for FpuState {
    fn default() -> Self {
        Self::reset()
    }
}

/// FXSAVE's MXCSR_MASK: every MXCSR bit but DAZ is supported.
pub const MXCSR_MASK: u32 = 0xFFBF;

impl FpuState {
    /// Power-on / RESET state (SDM vol. 3, 9.1.1, table 9-1): FCW 0040h,
    /// FSW 0, every register +0.0 and tagged valid (tag word 5555h).
    pub fn reset() -> Self {
        FpuState {
            regs: [F80::ZERO; 8],
            fcw: 0x0040,
            fsw: 0,
            ftw: 0xFF,
            ferr: false,
            fop: 0,
            fip: 0,
            fcs: 0,
            fds: 0,
            fdp: 0,
            mxcsr: 0x1F80,
        }
    }

    /// FNINIT: the registers keep their contents but are tagged empty.
    pub fn init(&mut self) {
        self.fcw = 0x037F;
        self.fsw = 0;
        self.ftw = 0;
        self.fop = 0;
        self.fip = 0;
        self.fcs = 0;
        self.fdp = 0;
        self.fds = 0;
    }

    #[inline]
    pub fn top(&self) -> usize {
        ((self.fsw >> 11) & 7) as usize
    }
    #[inline]
    pub fn set_top(&mut self, t: usize) {
        self.fsw = (self.fsw & !sw::TOP) | (((t & 7) as u16) << 11);
    }
    #[inline]
    fn phys(&self, i: usize) -> usize {
        (self.top() + i) & 7
    }
    #[inline]
    pub fn is_empty(&self, i: usize) -> bool {
        self.ftw & (1 << self.phys(i)) == 0
    }
    #[inline]
    pub fn st(&self, i: usize) -> F80 {
        self.regs[self.phys(i)]
    }
    #[inline]
    pub fn set_st(&mut self, i: usize, v: F80) {
        let p = self.phys(i);
        self.regs[p] = v;
        self.ftw |= 1 << p;
    }
    pub fn push(&mut self, v: F80) {
        self.set_top(self.top().wrapping_sub(1));
        self.set_st(0, v);
    }
    pub fn pop(&mut self) {
        self.ftw &= !(1 << self.phys(0));
        self.set_top(self.top() + 1);
    }
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.fcw)
    }
    pub fn set_cc(&mut self, c3: bool, c2: bool, c1: bool, c0: bool) {
        self.fsw &= !sw::CC;
        self.fsw |= (c3 as u16) << 14 | (c2 as u16) << 10 | (c1 as u16) << 9 | (c0 as u16) << 8;
    }
    pub fn set_c1(&mut self, c1: bool) {
        self.fsw = (self.fsw & !sw::C1) | (c1 as u16) << 9;
    }

    /// Merges an operation's flags into the status word and sets C1: the
    /// stack-fault direction when SF was raised (`overflow`), else the
    /// round-up bit of an inexact result.
    pub fn commit(&mut self, ctx: &Ctx, overflow: bool) {
        self.fsw |= (ctx.flags & 0x7F) as u16;
        let c1 = if ctx.flags & SF != 0 {
            overflow
        } else {
            ctx.flags & PE != 0 && ctx.up
        };
        self.set_c1(c1);
        if self.fsw & !self.fcw & 0x3F != 0 {
            self.fsw |= sw::ES | sw::B;
        }
    }

    /// Recomputes ES and B after the control word or the status word was
    /// loaded (FLDCW, FLDENV, FRSTOR, FXRSTOR).
    pub fn update_es(&mut self) {
        if self.fsw & !self.fcw & 0x3F != 0 {
            self.fsw |= sw::ES | sw::B;
        } else {
            self.fsw &= !(sw::ES | sw::B);
        }
    }

    /// The full 16-bit tag word (00 valid, 01 zero, 10 special, 11 empty).
    pub fn full_tag(&self) -> u16 {
        let mut t = 0u16;
        for p in 0..8 {
            let tag = if self.ftw & (1 << p) == 0 {
                3
            } else {
                let r = self.regs[p];
                if r.exp() == 0x7FFF || r.is_denormal() || r.is_unsupported() {
                    2
                } else if r.is_zero() {
                    1
                } else {
                    0
                }
            };
            t |= tag << (2 * p);
        }
        t
    }

    /// Loads a full tag word: only "empty" (11) is kept (SDM 8.1.7).
    pub fn set_full_tag(&mut self, t: u16) {
        self.ftw = 0;
        for p in 0..8 {
            if (t >> (2 * p)) & 3 != 3 {
                self.ftw |= 1 << p;
            }
        }
    }
}

/// x87 escape opcodes D8–DF (iced gives two-byte forms like D9D0 as one
/// value), WAIT, and FXSAVE/FXRSTOR.
pub(crate) fn is_fpu(i: &Instruction) -> bool {
    // FISTTP is SSE3: not on the P6 we model (#UD from the interpreter).
    if matches!(
        i.code(),
        Code::Fisttp_m16int | Code::Fisttp_m32int | Code::Fisttp_m64int
    ) {
        return false;
    }
    if matches!(
        i.code(),
        Code::Wait | Code::Fxsave_m512byte | Code::Fxrstor_m512byte
    ) {
        return true;
    }
    let oc = i.op_code();
    let first = if oc.op_code() > 0xFF {
        oc.op_code() >> 8
    } else {
        oc.op_code()
    };
    i.encoding() == iced_x86::EncodingKind::Legacy
        && oc.table() == iced_x86::OpCodeTableKind::Normal
        && (0xD8..=0xDF).contains(&first)
}

/// Control instructions: they neither wait for pending exceptions
/// (the FN forms) nor update FIP/FDP/FOP (SDM 8.1.8, 8.3.11).
fn is_control(code: Code) -> bool {
    use Code as C;
    matches!(
        code,
        C::Fninit
            | C::Fnclex
            | C::Fldcw_m2byte
            | C::Fnstcw_m2byte
            | C::Fnstsw_m2byte
            | C::Fnstsw_AX
            | C::Fnstenv_m14byte
            | C::Fnstenv_m28byte
            | C::Fldenv_m14byte
            | C::Fldenv_m28byte
            | C::Fnsave_m94byte
            | C::Fnsave_m108byte
            | C::Frstor_m94byte
            | C::Frstor_m108byte
            | C::Fneni
            | C::Fndisi
            | C::Fnsetpm
    )
}

/// Non-waiting: these do not check for a pending unmasked exception.
fn is_nowait(code: Code) -> bool {
    use Code as C;
    matches!(
        code,
        C::Fninit
            | C::Fnclex
            | C::Fnstcw_m2byte
            | C::Fnstsw_m2byte
            | C::Fnstsw_AX
            | C::Fnstenv_m14byte
            | C::Fnstenv_m28byte
            | C::Fnsave_m94byte
            | C::Fnsave_m108byte
            | C::Fneni
            | C::Fndisi
            | C::Fnsetpm
    )
}

/// A pending unmasked exception at a waiting instruction: #MF with
/// CR0.NE=1; with CR0.NE=0, FERR# (IRQ 13 on a PC) and the instruction
/// goes on, as it does on a PC whose IGNNE# logic lets it.
fn check_pending(x: &mut Exec<'_>) -> Result<()> {
    if x.s.fpu.fsw & sw::ES != 0 {
        if x.s.cr0 & cr0::NE != 0 {
            return Err(Exception::fault(vector::MF));
        }
        if !x.s.fpu.ferr {
            x.s.fpu.ferr = true;
            x.io.fpu_error(true);
        }
    }
    Ok(())
}

/// Deasserts FERR# once ES is clear.
fn sync_ferr(x: &mut Exec<'_>) {
    if x.s.fpu.ferr && x.s.fpu.fsw & sw::ES == 0 {
        x.s.fpu.ferr = false;
        x.io.fpu_error(false);
    }
}

/// Executes an x87 instruction (or WAIT, FXSAVE, FXRSTOR). `cur` is its
/// EIP. A fault leaves the FPU and memory as they were.
pub(crate) fn execute(x: &mut Exec<'_>, i: &Instruction, cur: u32) -> Result<()> {
    let code = i.code();
    let cr = x.s.cr0;
    match code {
        Code::Wait => {
            if cr & (cr0::MP | cr0::TS) == cr0::MP | cr0::TS {
                return Err(Exception::fault(vector::NM));
            }
            return check_pending(x);
        }
        Code::Fxsave_m512byte | Code::Fxrstor_m512byte => {
            if cr & (cr0::EM | cr0::TS) != 0 {
                return Err(Exception::fault(vector::NM));
            }
            let r = if code == Code::Fxsave_m512byte {
                fxsave::fxsave(x, i)
            } else {
                fxsave::fxrstor(x, i)
            };
            sync_ferr(x);
            return r;
        }
        _ => {}
    }
    if cr & (cr0::EM | cr0::TS) != 0 {
        return Err(Exception::fault(vector::NM));
    }
    if !is_nowait(code) {
        check_pending(x)?;
    }
    dispatch(x, i, code)?;
    if !is_control(code) {
        let f = &mut x.s.fpu;
        f.fip = cur;
        f.fcs = x.s.seg[CS].selector;
        f.fop = fop(i);
        if i.op_count() > 0 && i.op_kind(0) == OpKind::Memory {
            let seg = x.mem_seg(i);
            let ea = x.ea(i);
            let f = &mut x.s.fpu;
            f.fdp = ea;
            f.fds = x.s.seg[seg].selector;
        }
    } else {
        sync_ferr(x);
    }
    Ok(())
}

fn dispatch(x: &mut Exec<'_>, i: &Instruction, code: Code) -> Result<()> {
    if let Some(r) = load_store::exec(x, i, code) {
        return r;
    }
    if let Some(r) = arith::exec(x, i, code) {
        return r;
    }
    if let Some(r) = compare::exec(x, i, code) {
        return r;
    }
    if let Some(r) = transcendental::exec(x, i, code) {
        return r;
    }
    if let Some(r) = control::exec(x, i, code) {
        return r;
    }
    // 387SL/287XL-only forms (FSTDW, FSTSG, FRSTPM) and anything else.
    Err(Exception::ud())
}

/// Number of the ST(i) register operand `n`.
fn sti(i: &Instruction, n: u32) -> usize {
    (i.op_register(n) as usize).wrapping_sub(Register::ST0 as usize) & 7
}

/// The 11-bit opcode of FOP: low 3 bits of the escape byte and the ModR/M.
fn fop(i: &Instruction) -> u16 {
    let oc = i.op_code().op_code();
    if oc > 0xFF {
        let mut st = 0;
        for n in 0..i.op_count() {
            if i.op_kind(n) == OpKind::Register {
                let r = i.op_register(n);
                if (Register::ST0..=Register::ST7).contains(&r) {
                    st = st.max(r as u32 - Register::ST0 as u32);
                }
            }
        }
        return ((((oc >> 8) & 7) << 8) | ((oc & 0xFF) + st)) as u16;
    }
    let reg = i.op_code().group_index().max(0) as u32;
    let (md, rm) = modrm_mem(i);
    (((oc & 7) << 8) | md << 6 | reg << 3 | rm) as u16
}

/// The mod and r/m fields that encode the memory operand.
fn modrm_mem(i: &Instruction) -> (u32, u32) {
    let base = i.memory_base();
    let index = i.memory_index();
    let disp = i.memory_displ_size();
    let md = |bp: bool| match disp {
        0 if bp => 1,
        0 => 0,
        1 => 1,
        _ => 2,
    };
    if addr16(i) {
        use Register::*;
        let rm = match (base, index) {
            (BX, SI) => 0,
            (BX, DI) => 1,
            (BP, SI) => 2,
            (BP, DI) => 3,
            (SI, None) => 4,
            (DI, None) => 5,
            (BP, None) => 6,
            (BX, None) => 7,
            _ => return (0, 6),
        };
        return (md(base == BP && index == None), rm);
    }
    if base == Register::None && index == Register::None {
        return (0, 5);
    }
    if index != Register::None || base == Register::ESP {
        if base == Register::None {
            return (0, 4);
        }
        return (md(base == Register::EBP), 4);
    }
    (md(base == Register::EBP), base.number() as u32)
}

// ---- memory operands ------------------------------------------------------

fn mem_addr(x: &Exec<'_>, i: &Instruction) -> (usize, u32) {
    (x.mem_seg(i), x.ea(i))
}

fn read_u64(x: &mut Exec<'_>, seg: usize, off: u32) -> Result<u64> {
    let lo = x.read_mem(seg, off, 4)?;
    let hi = x.read_mem(seg, off.wrapping_add(4), 4)?;
    Ok((hi as u64) << 32 | lo as u64)
}

fn read_f80(x: &mut Exec<'_>, seg: usize, off: u32) -> Result<F80> {
    let mant = read_u64(x, seg, off)?;
    let se = x.read_mem(seg, off.wrapping_add(8), 2)? as u16;
    Ok(F80 { mant, se })
}

fn read_bytes<const N: usize>(x: &mut Exec<'_>, seg: usize, off: u32) -> Result<[u8; N]> {
    let mut b = [0u8; N];
    let mut k = 0;
    while k < N {
        let n = if N - k >= 4 { 4 } else { 1 };
        let v = x.read_mem(seg, off.wrapping_add(k as u32), n as u8)?;
        for j in 0..n {
            b[k + j] = (v >> (8 * j)) as u8;
        }
        k += n;
    }
    Ok(b)
}

/// Writes `b` at the instruction's memory operand after checking that
/// all of it can be written.
fn write_bytes(x: &mut Exec<'_>, i: &Instruction, b: &[u8]) -> Result<()> {
    let (seg, off) = mem_addr(x, i);
    probe(x, seg, off, b.len() as u32)?;
    store_bytes(x, seg, off, b)
}

/// Checks that `len` bytes at seg:off can be written.
fn probe(x: &mut Exec<'_>, seg: usize, off: u32, len: u32) -> Result<()> {
    let mut k = 0;
    while k < len {
        let n = (len - k).min(128);
        let lin = x.seg_check(seg, off.wrapping_add(k), n as u8, true)?;
        let user = x.s.cpl == 3;
        x.translate(lin, crane86_mmu::page_walk::Access::Write, user)?;
        let last = lin.wrapping_add(n - 1);
        if (lin ^ last) & !0xFFF != 0 {
            x.translate(last, crane86_mmu::page_walk::Access::Write, user)?;
        }
        k += n;
    }
    Ok(())
}

fn store_bytes(x: &mut Exec<'_>, seg: usize, off: u32, b: &[u8]) -> Result<()> {
    let mut k = 0;
    while k < b.len() {
        if b.len() - k >= 4 {
            let v = u32::from_le_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]]);
            x.write_mem(seg, off.wrapping_add(k as u32), 4, v)?;
            k += 4;
        } else {
            x.write_mem(seg, off.wrapping_add(k as u32), 1, b[k] as u32)?;
            k += 1;
        }
    }
    Ok(())
}

fn f80_bytes(v: F80) -> [u8; 10] {
    let mut b = [0u8; 10];
    b[..8].copy_from_slice(&v.mant.to_le_bytes());
    b[8..].copy_from_slice(&v.se.to_le_bytes());
    b
}

fn f80_from_bytes(b: &[u8]) -> F80 {
    F80 {
        mant: u64::from_le_bytes(b[..8].try_into().unwrap()),
        se: u16::from_le_bytes([b[8], b[9]]),
    }
}

// ---- stack faults -----------------------------------------------------------

/// Stack underflow on reading an empty register: IE+SF, C1=0. True when
/// the masked response (the indefinite) should be written.
fn underflow(f: &mut FpuState) -> bool {
    let mut ctx = f.ctx();
    ctx.raise(softfloat::IE | SF);
    f.commit(&ctx, false);
    ctx.masked(softfloat::IE)
}

/// Pushes `v` (computed with `ctx`), or handles a stack overflow: IE+SF,
/// C1=1, the indefinite pushed if masked.
fn push_checked(f: &mut FpuState, v: Option<F80>, mut ctx: Ctx) {
    if !f.is_empty(7) {
        ctx.flags = softfloat::IE | SF;
        f.commit(&ctx, true);
        if ctx.masked(softfloat::IE) {
            f.push(F80::INDEFINITE);
        }
        return;
    }
    f.commit(&ctx, false);
    if let Some(v) = v {
        f.push(v);
    }
}
