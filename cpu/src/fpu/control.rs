//! Control and environment: FNINIT, FNCLEX, FLDCW, FNSTCW, FNSTSW,
//! FNSTENV/FLDENV, FNSAVE/FRSTOR (16- and 32-bit, real- and
//! protected-mode layouts, SDM vol. 1, 8.1.10 and figures 8-9 to 8-12),
//! FINCSTP, FDECSTP, FNOP and the 8087/287 no-ops.

use super::{f80_bytes, f80_from_bytes, mem_addr, read_bytes, write_bytes, FpuState};
use crate::exception::Result;
use crate::exec::Exec;
use crate::state::EAX;
use iced_x86::{Code, Instruction};

pub(super) fn exec(x: &mut Exec<'_>, i: &Instruction, code: Code) -> Option<Result<()>> {
    use Code as C;
    Some(match code {
        C::Fninit => {
            x.s.fpu.init();
            Ok(())
        }
        C::Fnclex => {
            x.s.fpu.fsw &= !0x80FF;
            Ok(())
        }
        C::Fldcw_m2byte => {
            let (seg, off) = mem_addr(x, i);
            match x.read_mem(seg, off, 2) {
                Ok(v) => {
                    let f = &mut x.s.fpu;
                    f.fcw = (v as u16 & 0x1F3F) | 0x40;
                    f.update_es();
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        C::Fnstcw_m2byte => {
            let v = x.s.fpu.fcw;
            write_bytes(x, i, &v.to_le_bytes())
        }
        C::Fnstsw_m2byte => {
            let v = x.s.fpu.fsw;
            write_bytes(x, i, &v.to_le_bytes())
        }
        C::Fnstsw_AX => {
            let v = x.s.fpu.fsw as u32;
            x.s.gpr[EAX] = (x.s.gpr[EAX] & !0xFFFF) | v;
            Ok(())
        }
        C::Fnstenv_m14byte | C::Fnstenv_m28byte => {
            let b = env_bytes(x, code == C::Fnstenv_m28byte);
            write_bytes(x, i, &b).map(|()| x.s.fpu.fcw |= 0x3F)
        }
        C::Fldenv_m14byte => fldenv::<14>(x, i, false),
        C::Fldenv_m28byte => fldenv::<28>(x, i, false),
        C::Fnsave_m94byte | C::Fnsave_m108byte => {
            let big = code == C::Fnsave_m108byte;
            let mut b = env_bytes(x, big);
            let f = &x.s.fpu;
            for k in 0..8 {
                b.extend_from_slice(&f80_bytes(f.st(k)));
            }
            write_bytes(x, i, &b).map(|()| x.s.fpu.init())
        }
        C::Frstor_m94byte => fldenv::<94>(x, i, true),
        C::Frstor_m108byte => fldenv::<108>(x, i, true),
        C::Fincstp | C::Fdecstp => {
            let f = &mut x.s.fpu;
            let t = f.top();
            f.set_top(if code == C::Fincstp {
                t + 1
            } else {
                t.wrapping_sub(1)
            });
            f.set_c1(false);
            Ok(())
        }
        C::Fnop | C::Fneni | C::Fndisi | C::Fnsetpm => Ok(()),
        _ => return None,
    })
}

/// Real-address and virtual-8086 mode use the real-mode layouts, where
/// the pointers are 20/32-bit linear addresses.
fn real_layout(x: &Exec<'_>) -> bool {
    !x.s.pm_not_v86()
}

fn env_bytes(x: &Exec<'_>, big: bool) -> Vec<u8> {
    let f = &x.s.fpu;
    let real = real_layout(x);
    let tag = f.full_tag();
    let ip = (f.fcs as u32) << 4;
    let ip = ip.wrapping_add(f.fip);
    let dp = ((f.fds as u32) << 4).wrapping_add(f.fdp);
    let fop = f.fop as u32 & 0x7FF;
    let mut b = Vec::with_capacity(108);
    if big {
        let words: [u32; 7] = if real {
            [
                f.fcw as u32,
                f.fsw as u32,
                tag as u32,
                ip & 0xFFFF,
                (ip >> 16) << 12 | fop,
                dp & 0xFFFF,
                (dp >> 16) << 12,
            ]
        } else {
            [
                f.fcw as u32,
                f.fsw as u32,
                tag as u32,
                f.fip,
                f.fcs as u32 | fop << 16,
                f.fdp,
                f.fds as u32,
            ]
        };
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
    } else {
        let words: [u16; 7] = if real {
            [
                f.fcw,
                f.fsw,
                tag,
                ip as u16,
                ((ip >> 16) as u16 & 0xF) << 12 | fop as u16,
                dp as u16,
                ((dp >> 16) as u16 & 0xF) << 12,
            ]
        } else {
            [f.fcw, f.fsw, tag, f.fip as u16, f.fcs, f.fdp as u16, f.fds]
        };
        for w in words {
            b.extend_from_slice(&w.to_le_bytes());
        }
    }
    b
}

/// FLDENV (N = 14/28) and FRSTOR (N = 94/108).
fn fldenv<const N: usize>(x: &mut Exec<'_>, i: &Instruction, regs: bool) -> Result<()> {
    let (seg, off) = mem_addr(x, i);
    let b: [u8; N] = read_bytes(x, seg, off)?;
    let big = N == 28 || N == 108;
    let real = real_layout(x);
    let f: &mut FpuState = &mut x.s.fpu;
    let w: [u32; 7] = std::array::from_fn(|k| {
        if big {
            u32::from_le_bytes(b[4 * k..4 * k + 4].try_into().unwrap())
        } else {
            u16::from_le_bytes([b[2 * k], b[2 * k + 1]]) as u32
        }
    });
    f.fcw = (w[0] as u16 & 0x1F3F) | 0x40;
    f.fsw = w[1] as u16;
    let tag = w[2] as u16;
    if real {
        let (ip, dp) = if big {
            (
                (w[3] & 0xFFFF) | (w[4] >> 12 & 0xFFFF) << 16,
                (w[5] & 0xFFFF) | (w[6] >> 12 & 0xFFFF) << 16,
            )
        } else {
            (
                (w[3] & 0xFFFF) | (w[4] >> 12 & 0xF) << 16,
                (w[5] & 0xFFFF) | (w[6] >> 12 & 0xF) << 16,
            )
        };
        f.fip = ip;
        f.fcs = 0;
        f.fdp = dp;
        f.fds = 0;
        f.fop = (w[4] & 0x7FF) as u16;
    } else {
        f.fip = w[3];
        f.fcs = w[4] as u16;
        f.fdp = w[5];
        f.fds = w[6] as u16;
        if big {
            f.fop = ((w[4] >> 16) & 0x7FF) as u16;
        }
    }
    if regs {
        let base = if big { 28 } else { 14 };
        for k in 0..8 {
            let v = f80_from_bytes(&b[base + 10 * k..base + 10 * k + 10]);
            let p = (f.top() + k) & 7;
            f.regs[p] = v;
        }
    }
    f.set_full_tag(tag);
    f.update_es();
    Ok(())
}
