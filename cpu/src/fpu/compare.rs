//! Comparisons: FCOM/FCOMP/FCOMPP, FUCOM/FUCOMP/FUCOMPP, FICOM/FICOMP,
//! FCOMI/FCOMIP/FUCOMI/FUCOMIP, FTST, FXAM.

use super::arith::{mem_denormal_ok, mem_operand};
use super::softfloat::{self as sf, Class, Cmp, F80};
use super::{sti, underflow};
use crate::exception::Result;
use crate::exec::Exec;
use crate::state::flags;
use iced_x86::{Code, Instruction, Mnemonic, OpKind};

pub(super) fn exec(x: &mut Exec<'_>, i: &Instruction, code: Code) -> Option<Result<()>> {
    use Mnemonic as M;
    let m = i.mnemonic();
    let (quiet, pops, eflags) = match m {
        M::Fcom | M::Ficom | M::Ftst => (false, 0, false),
        M::Fcomp | M::Ficomp => (false, 1, false),
        M::Fcompp => (false, 2, false),
        M::Fucom => (true, 0, false),
        M::Fucomp => (true, 1, false),
        M::Fucompp => (true, 2, false),
        M::Fcomi => (false, 0, true),
        M::Fcomip => (false, 1, true),
        M::Fucomi => (true, 0, true),
        M::Fucomip => (true, 1, true),
        M::Fxam if code == Code::Fxam => {
            fxam(x);
            return Some(Ok(()));
        }
        _ => return None,
    };
    if m == M::Ftst && code != Code::Ftst {
        return None;
    }
    Some(compare(x, i, m, quiet, pops, eflags))
}

fn compare(
    x: &mut Exec<'_>,
    i: &Instruction,
    m: Mnemonic,
    quiet: bool,
    pops: u32,
    eflags: bool,
) -> Result<()> {
    // The second operand: memory, ST(i), ST(1) (FCOMPP/FUCOMPP), or 0.0 (FTST).
    let mut mem = None;
    let mut src = 1;
    if m == Mnemonic::Ftst {
        mem = Some((F80::ZERO, false));
    } else if i.op_count() > 0 && i.op_kind(0) == OpKind::Memory {
        mem = Some(mem_operand(x, i)?);
    } else if i.op_count() > 1 {
        src = sti(i, 1);
    } else if i.op_count() == 1 {
        src = sti(i, 0);
    }
    let f = &mut x.s.fpu;
    let result = if f.is_empty(0) || (mem.is_none() && f.is_empty(src)) {
        if !underflow(f) {
            return Ok(());
        }
        Cmp::Unordered
    } else {
        let a = f.st(0);
        let mut ctx = f.ctx();
        let r = match mem {
            Some((b, den)) => {
                if mem_denormal_ok(&mut ctx, den, a) {
                    sf::compare(&mut ctx, a, b, quiet)
                } else {
                    None
                }
            }
            None => sf::compare(&mut ctx, a, f.st(src), quiet),
        };
        f.commit(&ctx, false);
        match r {
            Some(r) => r,
            None => return Ok(()),
        }
    };
    let (c3, c2, c0) = match result {
        Cmp::Greater => (false, false, false),
        Cmp::Less => (false, false, true),
        Cmp::Equal => (true, false, false),
        Cmp::Unordered => (true, true, true),
    };
    if eflags {
        f.set_c1(false);
        let e = &mut x.s.eflags;
        *e &= !(flags::ZF | flags::PF | flags::CF | flags::OF | flags::SF | flags::AF);
        *e |= if c3 { flags::ZF } else { 0 }
            | if c2 { flags::PF } else { 0 }
            | if c0 { flags::CF } else { 0 };
    } else {
        f.set_cc(c3, c2, false, c0);
    }
    for _ in 0..pops {
        x.s.fpu.pop();
    }
    Ok(())
}

/// FXAM: the class of ST(0) in C3 C2 C0, its sign in C1.
fn fxam(x: &mut Exec<'_>) {
    let f = &mut x.s.fpu;
    let v = f.st(0);
    let (c3, c2, c0) = if f.is_empty(0) {
        (true, false, true)
    } else {
        match v.class() {
            Class::Unsupported => (false, false, false),
            Class::QNaN | Class::SNaN => (false, false, true),
            Class::Normal => (false, true, false),
            Class::Inf => (false, true, true),
            Class::Zero => (true, false, false),
            Class::Denormal => (true, true, false),
        }
    };
    f.set_cc(c3, c2, v.sign(), c0);
}
