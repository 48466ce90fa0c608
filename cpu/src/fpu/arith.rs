//! Arithmetic: FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR with their P and I forms,
//! FSQRT, FABS, FCHS, FRNDINT, FSCALE, FXTRACT, FPREM, FPREM1.

use super::softfloat::{self as sf, Ctx, DOUBLE, F80, SINGLE};
use super::{mem_addr, read_u64, sti, underflow, FpuState};
use crate::exception::Result;
use crate::exec::Exec;
use iced_x86::{Code, Instruction, MemorySize, Mnemonic, OpKind};
use std::ops::Neg;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Add,
    Sub,
    SubR,
    Mul,
    Div,
    DivR,
}

pub(super) fn apply(ctx: &mut Ctx, op: Op, a: F80, b: F80) -> Option<F80> {
    match op {
        Op::Add => sf::add(ctx, a, b, false),
        Op::Sub => sf::add(ctx, a, b, true),
        Op::SubR => sf::add(ctx, b, a, true),
        Op::Mul => sf::mul(ctx, a, b),
        Op::Div => sf::div(ctx, a, b),
        Op::DivR => sf::div(ctx, b, a),
    }
}

/// Reads a memory source operand (m32fp, m64fp, m16int, m32int) exactly;
/// also tells whether it was a single/double denormal (DE is raised by
/// the operation that uses it).
pub(super) fn mem_operand(x: &mut Exec<'_>, i: &Instruction) -> Result<(F80, bool)> {
    let (seg, off) = mem_addr(x, i);
    Ok(match i.memory_size() {
        MemorySize::Float32 => sf::widen(x.read_mem(seg, off, 4)? as u64, SINGLE),
        MemorySize::Float64 => sf::widen(read_u64(x, seg, off)?, DOUBLE),
        MemorySize::Int16 => (
            sf::from_i64(x.read_mem(seg, off, 2)? as u16 as i16 as i64),
            false,
        ),
        _ => (sf::from_i64(x.read_mem(seg, off, 4)? as i32 as i64), false),
    })
}

/// DE for a denormal memory operand, unless the register operand's NaN or
/// unsupported encoding takes priority. False: stop.
pub(super) fn mem_denormal_ok(ctx: &mut Ctx, den: bool, other: F80) -> bool {
    !den || other.is_nan() || other.is_unsupported() || !ctx.stop(sf::DE)
}

pub(super) fn exec(x: &mut Exec<'_>, i: &Instruction, code: Code) -> Option<Result<()>> {
    use Mnemonic as M;
    let (op, pop) = match i.mnemonic() {
        M::Fadd | M::Fiadd => (Op::Add, false),
        M::Faddp => (Op::Add, true),
        M::Fsub | M::Fisub => (Op::Sub, false),
        M::Fsubp => (Op::Sub, true),
        M::Fsubr | M::Fisubr => (Op::SubR, false),
        M::Fsubrp => (Op::SubR, true),
        M::Fmul | M::Fimul => (Op::Mul, false),
        M::Fmulp => (Op::Mul, true),
        M::Fdiv | M::Fidiv => (Op::Div, false),
        M::Fdivp => (Op::Div, true),
        M::Fdivr | M::Fidivr => (Op::DivR, false),
        M::Fdivrp => (Op::DivR, true),
        _ => return unary(x, code),
    };
    Some(binop(x, i, op, pop))
}

fn binop(x: &mut Exec<'_>, i: &Instruction, op: Op, pop: bool) -> Result<()> {
    let (dest, src, mem) = if i.op_kind(0) == OpKind::Memory {
        (0, 0, Some(mem_operand(x, i)?))
    } else {
        (sti(i, 0), sti(i, 1), None)
    };
    let f = &mut x.s.fpu;
    if f.is_empty(dest) || (mem.is_none() && f.is_empty(src)) {
        if underflow(f) {
            f.set_st(dest, F80::INDEFINITE);
            if pop {
                f.pop();
            }
        }
        return Ok(());
    }
    let a = f.st(dest);
    let mut ctx = f.ctx();
    let r = match mem {
        Some((b, den)) => {
            if mem_denormal_ok(&mut ctx, den, a) {
                apply(&mut ctx, op, a, b)
            } else {
                None
            }
        }
        None => apply(&mut ctx, op, a, f.st(src)),
    };
    f.commit(&ctx, false);
    if let Some(r) = r {
        f.set_st(dest, r);
        if pop {
            f.pop();
        }
    }
    Ok(())
}

/// One-operand ST(0) instructions and FSCALE/FXTRACT/FPREM/FPREM1.
fn unary(x: &mut Exec<'_>, code: Code) -> Option<Result<()>> {
    use Code as C;
    let f = &mut x.s.fpu;
    match code {
        C::Fsqrt | C::Frndint => st0_op(f, |ctx, a| {
            if code == C::Fsqrt {
                sf::sqrt(ctx, a)
            } else {
                sf::round_to_int(ctx, a)
            }
        }),
        C::Fabs | C::Fchs => {
            if f.is_empty(0) {
                if underflow(f) {
                    f.set_st(0, F80::INDEFINITE);
                }
            } else {
                let a = f.st(0);
                f.set_st(0, if code == C::Fabs { a.abs() } else { a.neg() });
                f.set_c1(false);
            }
        }
        C::Fscale => {
            if f.is_empty(0) || f.is_empty(1) {
                if underflow(f) {
                    f.set_st(0, F80::INDEFINITE);
                }
            } else {
                let mut ctx = f.ctx();
                let r = sf::scale(&mut ctx, f.st(0), f.st(1));
                f.commit(&ctx, false);
                if let Some(r) = r {
                    f.set_st(0, r);
                }
            }
        }
        C::Fxtract => {
            if f.is_empty(0) {
                if underflow(f) {
                    f.set_st(0, F80::INDEFINITE);
                    if f.is_empty(7) {
                        f.push(F80::INDEFINITE);
                    }
                }
            } else if !f.is_empty(7) {
                let mut ctx = f.ctx();
                ctx.raise(sf::IE | sf::SF);
                f.commit(&ctx, true);
                if ctx.masked(sf::IE) {
                    f.set_st(0, F80::INDEFINITE);
                    f.push(F80::INDEFINITE);
                }
            } else {
                let mut ctx = f.ctx();
                let r = sf::xtract(&mut ctx, f.st(0));
                f.commit(&ctx, false);
                if let Some((e, s)) = r {
                    f.set_st(0, e);
                    f.push(s);
                }
            }
        }
        C::Fprem | C::Fprem1 => {
            if f.is_empty(0) || f.is_empty(1) {
                if underflow(f) {
                    f.set_st(0, F80::INDEFINITE);
                }
                return Some(Ok(()));
            }
            let mut ctx = f.ctx();
            let (r, partial, q) = sf::rem(&mut ctx, f.st(0), f.st(1), code == C::Fprem1);
            f.commit(&ctx, false);
            if let Some(r) = r {
                f.set_st(0, r);
                if partial {
                    // Incomplete reduction: the quotient bits are undefined.
                    f.set_cc(false, true, false, false);
                } else {
                    f.set_cc(q & 2 != 0, false, q & 1 != 0, q & 4 != 0);
                }
            }
        }
        _ => return None,
    }
    Some(Ok(()))
}

/// ST(0) ← op(ST(0)), with the stack-underflow response.
pub(super) fn st0_op(f: &mut FpuState, op: impl FnOnce(&mut Ctx, F80) -> Option<F80>) {
    if f.is_empty(0) {
        if underflow(f) {
            f.set_st(0, F80::INDEFINITE);
        }
        return;
    }
    let mut ctx = f.ctx();
    let r = op(&mut ctx, f.st(0));
    f.commit(&ctx, false);
    if let Some(r) = r {
        f.set_st(0, r);
    }
}
