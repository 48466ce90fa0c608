//! Loads and stores: FLD/FST/FSTP in every format, FILD/FIST/FISTP (and
//! FISTTP), FBLD/FBSTP, the constants, FXCH, FCMOVcc, FFREE(P).

use super::softfloat::{self as sf, Ctx, Rc, DOUBLE, F80, SINGLE};
use super::{
    f80_bytes, mem_addr, push_checked, read_bytes, read_f80, read_u64, sti, underflow, write_bytes,
    FpuState,
};
use crate::exception::Result;
use crate::exec::Exec;
use crate::state::flags;
use iced_x86::{Code, Instruction};

pub(super) fn exec(x: &mut Exec<'_>, i: &Instruction, code: Code) -> Option<Result<()>> {
    use Code as C;
    Some(match code {
        C::Fld_m32fp | C::Fld_m64fp => fld_ieee(x, i, code == C::Fld_m64fp),
        C::Fld_m80fp => fld80(x, i),
        C::Fld_sti => {
            let f = &mut x.s.fpu;
            let n = sti(i, 0);
            let v = if f.is_empty(n) {
                if underflow(f) {
                    Some(F80::INDEFINITE)
                } else {
                    None
                }
            } else {
                Some(f.st(n))
            };
            if let Some(v) = v {
                let ctx = f.ctx();
                push_checked(f, Some(v), ctx);
            }
            Ok(())
        }
        C::Fild_m16int | C::Fild_m32int | C::Fild_m64int => fild(x, i, code),
        C::Fbld_m80bcd => fbld(x, i),
        C::Fld1 => fld_const(x, 0),
        C::Fldl2t => fld_const(x, 1),
        C::Fldl2e => fld_const(x, 2),
        C::Fldpi => fld_const(x, 3),
        C::Fldlg2 => fld_const(x, 4),
        C::Fldln2 => fld_const(x, 5),
        C::Fldz => fld_const(x, 6),
        C::Fst_m32fp | C::Fstp_m32fp => fst_ieee(x, i, SINGLE, code == C::Fstp_m32fp),
        C::Fst_m64fp | C::Fstp_m64fp => fst_ieee(x, i, DOUBLE, code == C::Fstp_m64fp),
        C::Fstp_m80fp => fstp80(x, i),
        C::Fst_sti | C::Fstp_sti | C::Fstp_sti_DFD0 | C::Fstp_sti_DFD8 | C::Fstpnce_sti => {
            let f = &mut x.s.fpu;
            let n = sti(i, 0);
            let v = if f.is_empty(0) {
                if underflow(f) {
                    Some(F80::INDEFINITE)
                } else {
                    None
                }
            } else {
                f.set_c1(false);
                Some(f.st(0))
            };
            if let Some(v) = v {
                f.set_st(n, v);
                if code != C::Fst_sti {
                    f.pop();
                }
            }
            Ok(())
        }
        C::Fist_m16int | C::Fistp_m16int => fist(x, i, code, 16),
        C::Fist_m32int | C::Fistp_m32int => fist(x, i, code, 32),
        C::Fistp_m64int => fist(x, i, code, 64),
        C::Fbstp_m80bcd => fbstp(x, i),
        C::Fxch_st0_sti | C::Fxch_st0_sti_DDC8 | C::Fxch_st0_sti_DFC8 => {
            let f = &mut x.s.fpu;
            let n = sti(i, 1);
            let (mut a, mut b) = (f.st(0), f.st(n));
            if f.is_empty(0) || f.is_empty(n) {
                if !underflow(f) {
                    return Some(Ok(()));
                }
                if f.is_empty(0) {
                    a = F80::INDEFINITE;
                }
                if f.is_empty(n) {
                    b = F80::INDEFINITE;
                }
            } else {
                f.set_c1(false);
            }
            f.set_st(0, b);
            f.set_st(n, a);
            Ok(())
        }
        C::Fcmovb_st0_sti
        | C::Fcmove_st0_sti
        | C::Fcmovbe_st0_sti
        | C::Fcmovu_st0_sti
        | C::Fcmovnb_st0_sti
        | C::Fcmovne_st0_sti
        | C::Fcmovnbe_st0_sti
        | C::Fcmovnu_st0_sti => {
            let e = x.s.eflags;
            let cf = e & flags::CF != 0;
            let zf = e & flags::ZF != 0;
            let pf = e & flags::PF != 0;
            let cond = match code {
                C::Fcmovb_st0_sti => cf,
                C::Fcmove_st0_sti => zf,
                C::Fcmovbe_st0_sti => cf || zf,
                C::Fcmovu_st0_sti => pf,
                C::Fcmovnb_st0_sti => !cf,
                C::Fcmovne_st0_sti => !zf,
                C::Fcmovnbe_st0_sti => !cf && !zf,
                _ => !pf,
            };
            let f = &mut x.s.fpu;
            let n = sti(i, 1);
            if f.is_empty(0) || f.is_empty(n) {
                if underflow(f) && cond {
                    let v = if f.is_empty(n) {
                        F80::INDEFINITE
                    } else {
                        f.st(n)
                    };
                    f.set_st(0, v);
                }
            } else {
                f.set_c1(false);
                if cond {
                    let v = f.st(n);
                    f.set_st(0, v);
                }
            }
            Ok(())
        }
        C::Ffree_sti | C::Ffreep_sti => {
            let f = &mut x.s.fpu;
            let p = (f.top() + sti(i, 0)) & 7;
            f.ftw &= !(1 << p);
            if code == C::Ffreep_sti {
                f.pop();
            }
            Ok(())
        }
        _ => return None,
    })
}

/// FLD m32fp / m64fp.
fn fld_ieee(x: &mut Exec<'_>, i: &Instruction, double: bool) -> Result<()> {
    let (seg, off) = mem_addr(x, i);
    let bits = if double {
        read_u64(x, seg, off)?
    } else {
        x.read_mem(seg, off, 4)? as u64
    };
    let f = &mut x.s.fpu;
    let mut ctx = f.ctx();
    let v = sf::from_ieee(&mut ctx, bits, if double { DOUBLE } else { SINGLE });
    if !f.is_empty(7) || v.is_some() {
        push_checked(f, v, ctx);
    } else {
        f.commit(&ctx, false);
    }
    Ok(())
}

/// Internal constants and how they round: 64-bit truncation and whether
/// the bits beyond it are more than half an ulp (none is exactly half).
/// The 387 and later round the constants per RC (SDM 8.3.5).
const CONSTS: [(u16, u64, bool); 7] = [
    (0x3FFF, 0x8000_0000_0000_0000, false), // 1
    (0x4000, 0xD49A_784B_CD1B_8AFE, false), // log2(10)
    (0x3FFF, 0xB8AA_3B29_5C17_F0BB, true),  // log2(e)
    (0x4000, 0xC90F_DAA2_2168_C234, true),  // pi
    (0x3FFD, 0x9A20_9A84_FBCF_F798, true),  // log10(2)
    (0x3FFE, 0xB172_17F7_D1CF_79AB, true),  // ln(2)
    (0, 0, false),                          // +0
];

fn fld_const(x: &mut Exec<'_>, k: usize) -> Result<()> {
    let f = &mut x.s.fpu;
    let (se, mant, above_half) = CONSTS[k];
    let inexact = k != 0 && k != 6;
    let up = inexact
        && match Rc::from_bits(f.fcw >> 10) {
            Rc::Nearest => above_half,
            Rc::Up => true,
            Rc::Down | Rc::Zero => false,
        };
    let v = F80 {
        se,
        mant: mant.wrapping_add(up as u64),
    };
    let ctx = f.ctx();
    push_checked(f, Some(v), ctx);
    Ok(())
}

/// FST/FSTP m32fp / m64fp.
fn fst_ieee(x: &mut Exec<'_>, i: &Instruction, fmt: sf::Fmt, pop: bool) -> Result<()> {
    let mut f = x.s.fpu.clone();
    let mut ctx = f.ctx();
    let bits = if f.is_empty(0) {
        if underflow(&mut f) {
            Some(if fmt.prec == 24 {
                0xFFC0_0000
            } else {
                0xFFF8_0000_0000_0000
            })
        } else {
            x.s.fpu = f;
            return Ok(());
        }
    } else {
        let b = sf::to_ieee(&mut ctx, f.st(0), fmt);
        f.commit(&ctx, false);
        b
    };
    if let Some(b) = bits {
        let bytes = b.to_le_bytes();
        write_bytes(x, i, &bytes[..if fmt.prec == 24 { 4 } else { 8 }])?;
        if pop {
            f.pop();
        }
    }
    x.s.fpu = f;
    Ok(())
}

/// FIST/FISTP.
fn fist(x: &mut Exec<'_>, i: &Instruction, code: Code, bits: u32) -> Result<()> {
    let pop = !matches!(code, Code::Fist_m16int | Code::Fist_m32int);
    let mut f = x.s.fpu.clone();
    let mut ctx: Ctx = f.ctx();
    let v = if f.is_empty(0) {
        if underflow(&mut f) {
            Some(i64::MIN >> (64 - bits))
        } else {
            x.s.fpu = f;
            return Ok(());
        }
    } else {
        let rc = ctx.rc;
        let v = sf::to_int(&mut ctx, f.st(0), bits, rc);
        f.commit(&ctx, false);
        v
    };
    if let Some(v) = v {
        write_bytes(x, i, &v.to_le_bytes()[..bits as usize / 8])?;
        if pop {
            f.pop();
        }
    }
    x.s.fpu = f;
    Ok(())
}

fn fbstp(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let mut f: FpuState = x.s.fpu.clone();
    let mut ctx = f.ctx();
    let v = if f.is_empty(0) {
        if underflow(&mut f) {
            Some([0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF])
        } else {
            x.s.fpu = f;
            return Ok(());
        }
    } else {
        let v = sf::to_bcd(&mut ctx, f.st(0));
        f.commit(&ctx, false);
        v
    };
    if let Some(v) = v {
        write_bytes(x, i, &v)?;
        f.pop();
    }
    x.s.fpu = f;
    Ok(())
}

fn fld80(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let (seg, off) = mem_addr(x, i);
    let v = read_f80(x, seg, off)?;
    let f = &mut x.s.fpu;
    let ctx = f.ctx();
    push_checked(f, Some(v), ctx);
    Ok(())
}

fn fild(x: &mut Exec<'_>, i: &Instruction, code: Code) -> Result<()> {
    let (seg, off) = mem_addr(x, i);
    let v = match code {
        Code::Fild_m16int => x.read_mem(seg, off, 2)? as u16 as i16 as i64,
        Code::Fild_m32int => x.read_mem(seg, off, 4)? as i32 as i64,
        _ => read_u64(x, seg, off)? as i64,
    };
    let f = &mut x.s.fpu;
    let ctx = f.ctx();
    push_checked(f, Some(sf::from_i64(v)), ctx);
    Ok(())
}

fn fbld(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let (seg, off) = mem_addr(x, i);
    let b: [u8; 10] = read_bytes(x, seg, off)?;
    let f = &mut x.s.fpu;
    let ctx = f.ctx();
    push_checked(f, Some(sf::from_bcd(&b)), ctx);
    Ok(())
}

fn fstp80(x: &mut Exec<'_>, i: &Instruction) -> Result<()> {
    let mut f = x.s.fpu.clone();
    let v = if f.is_empty(0) {
        if !underflow(&mut f) {
            x.s.fpu = f;
            return Ok(());
        }
        F80::INDEFINITE
    } else {
        f.set_c1(false);
        f.st(0)
    };
    write_bytes(x, i, &f80_bytes(v))?;
    f.pop();
    x.s.fpu = f;
    Ok(())
}
