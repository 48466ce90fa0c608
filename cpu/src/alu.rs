//! Integer arithmetic and logic: ADD…CMP, INC/DEC/NEG/NOT, shifts and
//! rotates, multiply and divide, BCD adjusts, bit tests and scans
//! (SDM vol. 2 instruction pages; flags per vol. 1, appendix A).
//!
//! Each operation is a pure function of its operands and the incoming
//! flags, returning the result and the new flags, so the interpreter and
//! generated code share one definition.

use crate::exception::{Exception, Result};
use crate::exec::{mask, sign_bit, Size};
use crate::flags::{add_flags, sub_flags, szp};
use crate::state::flags::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Or,
    Adc,
    Sbb,
    And,
    Sub,
    Xor,
    Cmp,
}

/// Two-operand ALU op: returns (result, new eflags). CMP returns `a`.
#[inline(always)]
pub fn alu(op: AluOp, a: u32, b: u32, size: Size, eflags: u32) -> (u32, u32) {
    let cin = eflags & CF;
    let (r, f) = match op {
        AluOp::Add => add_flags(a, b, 0, size),
        AluOp::Adc => add_flags(a, b, cin, size),
        AluOp::Sub | AluOp::Cmp => sub_flags(a, b, 0, size),
        AluOp::Sbb => sub_flags(a, b, cin, size),
        // Logical ops clear CF, OF and (as Intel CPUs do) AF.
        AluOp::And => logic(a & b, size),
        AluOp::Or => logic(a | b, size),
        AluOp::Xor => logic(a ^ b, size),
    };
    let r = if op == AluOp::Cmp { a } else { r };
    (r, (eflags & !STATUS) | f)
}

#[inline]
fn logic(r: u32, size: Size) -> (u32, u32) {
    let r = r & mask(size);
    (r, szp(r, size))
}

/// INC / DEC leave CF alone.
pub fn inc_dec(a: u32, dec: bool, size: Size, eflags: u32) -> (u32, u32) {
    let (r, f) = if dec {
        sub_flags(a, 1, 0, size)
    } else {
        add_flags(a, 1, 0, size)
    };
    (r, (eflags & !(STATUS & !CF)) | (f & !CF))
}

/// NEG: CF is set unless the operand was 0.
pub fn neg(a: u32, size: Size, eflags: u32) -> (u32, u32) {
    let (r, f) = sub_flags(0, a, 0, size);
    (r, (eflags & !STATUS) | f)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftOp {
    Rol,
    Ror,
    Rcl,
    Rcr,
    Shl,
    Shr,
    Sar,
}

/// Shifts and rotates (SDM vol. 2, "RCL/RCR/ROL/ROR" and "SAL/SAR/SHL/SHR").
/// The count is masked to 5 bits; a masked count of 0 changes nothing.
/// OF is defined for a count of 1 only; for larger counts we compute it
/// with the count-1 formula, as Intel CPUs do for the shifts.
pub fn shift(op: ShiftOp, a: u32, count: u32, size: Size, eflags: u32) -> (u32, u32) {
    let bits = size as u32 * 8;
    let m = mask(size);
    let a = a & m;
    let count = count & 0x1F;
    if count == 0 {
        return (a, eflags);
    }
    let msb = |v: u32| (v >> (bits - 1)) & 1;
    let mut f = eflags;
    let r;
    match op {
        ShiftOp::Shl => {
            let wide = (a as u64) << count;
            r = wide as u32 & m;
            let cf = ((wide >> bits) & 1) as u32;
            f = (f & !STATUS) | szp(r, size) | cf;
            if msb(r) ^ cf != 0 {
                f |= OF;
            }
        }
        ShiftOp::Shr => {
            r = ((a as u64) >> count) as u32;
            let cf = ((a as u64 >> (count - 1)) & 1) as u32;
            f = (f & !STATUS) | szp(r, size) | cf;
            if count == 1 && msb(a) != 0 {
                f |= OF;
            }
        }
        ShiftOp::Sar => {
            let sa = ((a << (32 - bits)) as i32 >> (32 - bits)) as i64;
            r = (sa >> count.min(63)) as u32 & m;
            let cf = ((sa >> (count - 1).min(63)) & 1) as u32;
            f = (f & !STATUS) | szp(r, size) | cf;
        }
        ShiftOp::Rol => {
            let c = count % bits;
            r = if c == 0 {
                a
            } else {
                ((a << c) | (a >> (bits - c))) & m
            };
            let cf = r & 1;
            f = (f & !(CF | OF)) | cf;
            if msb(r) ^ cf != 0 {
                f |= OF;
            }
        }
        ShiftOp::Ror => {
            let c = count % bits;
            r = if c == 0 {
                a
            } else {
                ((a >> c) | (a << (bits - c))) & m
            };
            f &= !(CF | OF);
            if msb(r) != 0 {
                f |= CF;
            }
            if msb(r) ^ ((r >> (bits - 2)) & 1) != 0 {
                f |= OF;
            }
        }
        ShiftOp::Rcl | ShiftOp::Rcr => {
            // Rotate through a (bits+1)-wide value holding CF above the operand.
            let w = bits + 1;
            let c = if size == 4 { count } else { count % w };
            let v = (a as u64) | ((eflags & CF) as u64) << bits;
            let wm = (1u64 << w) - 1;
            let rot = if c == 0 {
                v
            } else if op == ShiftOp::Rcl {
                ((v << c) | (v >> (w - c))) & wm
            } else {
                ((v >> c) | (v << (w - c))) & wm
            };
            r = rot as u32 & m;
            let cf = ((rot >> bits) & 1) as u32;
            f = (f & !(CF | OF)) | cf;
            let of = if op == ShiftOp::Rcl {
                msb(r) ^ cf
            } else {
                msb(r) ^ ((r >> (bits - 2)) & 1)
            };
            if of != 0 {
                f |= OF;
            }
        }
    }
    (r, f)
}

/// SHLD / SHRD (SDM vol. 2). A count above the operand width (16-bit
/// forms) shifts in the pattern dest:src:dest, as Intel processors do.
pub fn double_shift(
    left: bool,
    dst: u32,
    src: u32,
    count: u32,
    size: Size,
    eflags: u32,
) -> (u32, u32) {
    let count = count & 0x1F;
    if count == 0 {
        return (dst & mask(size), eflags);
    }
    let bits = size as u32 * 8;
    let m = mask(size) as u128;
    let (d, s) = (dst as u128 & m, src as u128 & m);
    let (r, cf) = if left {
        let wide = if size == 2 {
            (d << 32) | (s << 16) | d
        } else {
            (d << bits) | s
        };
        let total = if size == 2 { 48 } else { bits * 2 };
        let shifted = wide << count;
        ((shifted >> (total - bits)) & m, (shifted >> total) & 1)
    } else {
        let wide = if size == 2 {
            (d << 32) | (s << 16) | d
        } else {
            (s << bits) | d
        };
        let shifted = wide >> count;
        (shifted & m, (wide >> (count - 1)) & 1)
    };
    let r = r as u32;
    let mut f = (eflags & !STATUS) | szp(r, size) | cf as u32;
    if (r ^ dst) & sign_bit(size) != 0 {
        f |= OF;
    }
    (r, f)
}

/// MUL / IMUL, widening: returns (low, high, flags). CF = OF = the upper
/// half is significant. SF, ZF, PF follow the low half; AF is cleared.
pub fn mul(signed: bool, a: u32, b: u32, size: Size, eflags: u32) -> (u32, u32, u32) {
    let bits = size as u32 * 8;
    let m = mask(size);
    let (lo, hi, overflow) = if signed {
        let sx = |v: u32| ((v << (32 - bits)) as i32 >> (32 - bits)) as i64;
        let p = sx(a) * sx(b);
        let lo = p as u32 & m;
        (lo, (p >> bits) as u32 & m, sx(lo) != p)
    } else {
        let p = (a & m) as u64 * (b & m) as u64;
        let hi = (p >> bits) as u32 & m;
        (p as u32 & m, hi, hi != 0)
    };
    let mut f = (eflags & !STATUS) | szp(lo, size);
    if overflow {
        f |= CF | OF;
    }
    (lo, hi, f)
}

/// DIV / IDIV of hi:lo by `d`: returns (quotient, remainder) or #DE.
pub fn div(signed: bool, lo: u32, hi: u32, d: u32, size: Size) -> Result<(u32, u32)> {
    let bits = size as u32 * 8;
    let m = mask(size);
    if d & m == 0 {
        return Err(Exception::de());
    }
    if signed {
        let num = ((((hi & m) as u64) << bits) | (lo & m) as u64) as i64;
        let num = (num << (64 - 2 * bits)) >> (64 - 2 * bits);
        let den = (((d & m) << (32 - bits)) as i32 >> (32 - bits)) as i64;
        let q = num.checked_div(den).ok_or(Exception::de())?;
        let rem = num - q * den;
        let lim = 1i64 << (bits - 1);
        if q >= lim || q < -lim {
            return Err(Exception::de());
        }
        Ok((q as u32 & m, rem as u32 & m))
    } else {
        let num = (((hi & m) as u64) << bits) | (lo & m) as u64;
        let q = num / (d & m) as u64;
        if q > m as u64 {
            return Err(Exception::de());
        }
        Ok((q as u32, (num % (d & m) as u64) as u32))
    }
}

// ---- BCD (SDM vol. 2, DAA/DAS/AAA/AAS/AAM/AAD pseudocode) ---------------------

/// DAA on AL. Returns (AL, flags). OF is undefined; Intel CPUs clear it.
pub fn daa(al: u32, eflags: u32) -> (u32, u32) {
    let (old_al, old_cf) = (al & 0xFF, eflags & CF != 0);
    let mut al = old_al;
    let mut f = eflags & !STATUS;
    if al & 0xF > 9 || eflags & AF != 0 {
        let carry = al + 6 > 0xFF;
        al = (al + 6) & 0xFF;
        if old_cf || carry {
            f |= CF;
        }
        f |= AF;
    }
    if old_al > 0x99 || old_cf {
        al = (al + 0x60) & 0xFF;
        f |= CF;
    } else {
        f &= !CF;
    }
    (al, f | szp(al, 1))
}

pub fn das(al: u32, eflags: u32) -> (u32, u32) {
    let (old_al, old_cf) = (al & 0xFF, eflags & CF != 0);
    let mut al = old_al;
    let mut f = eflags & !STATUS;
    if al & 0xF > 9 || eflags & AF != 0 {
        let borrow = al < 6;
        al = al.wrapping_sub(6) & 0xFF;
        if old_cf || borrow {
            f |= CF;
        }
        f |= AF;
    }
    if old_al > 0x99 || old_cf {
        al = al.wrapping_sub(0x60) & 0xFF;
        f |= CF;
    }
    (al, f | szp(al, 1))
}

/// AAA / AAS on AX. Returns (AX, flags).
pub fn aaa_aas(ax: u32, sub: bool, eflags: u32) -> (u32, u32) {
    let mut ax = ax & 0xFFFF;
    let mut f = eflags & !STATUS;
    if ax & 0xF > 9 || eflags & AF != 0 {
        if sub {
            // SDM: AX := AX - 6; AH := AH - 1 (the borrow reaches AH too).
            ax = ax.wrapping_sub(6) & 0xFFFF;
            ax = ax.wrapping_sub(0x100) & 0xFFFF;
        } else {
            ax = (ax + 0x106) & 0xFFFF;
        }
        f |= AF | CF;
    }
    ax &= 0xFF0F;
    (ax, f | szp(ax & 0xFF, 1))
}

/// AAM imm8: #DE when the base is 0.
pub fn aam(al: u32, base: u32, eflags: u32) -> Result<(u32, u32)> {
    if base & 0xFF == 0 {
        return Err(Exception::de());
    }
    let al = al & 0xFF;
    let ax = ((al / base) << 8) | (al % base);
    Ok((ax, (eflags & !STATUS) | szp(ax & 0xFF, 1)))
}

/// AAD imm8: AL = AL + AH * base, AH = 0; flags as the byte addition.
pub fn aad(ax: u32, base: u32, eflags: u32) -> (u32, u32) {
    let prod = ((ax >> 8) & 0xFF) * (base & 0xFF);
    let (al, f) = add_flags(ax & 0xFF, prod & 0xFF, 0, 1);
    (al, (eflags & !STATUS) | f)
}

/// BSF / BSR: `None` when the source is zero (ZF set, destination unchanged).
pub fn bit_scan(reverse: bool, src: u32, size: Size) -> Option<u32> {
    let v = src & mask(size);
    if v == 0 {
        None
    } else if reverse {
        Some(31 - v.leading_zeros())
    } else {
        Some(v.trailing_zeros())
    }
}

/// Flags after BSF/BSR: ZF per the source; the others (undefined) follow the
/// result as on recent Intel cores — we leave them unchanged.
pub fn bit_scan_flags(found: bool, eflags: u32) -> u32 {
    if found {
        eflags & !ZF
    } else {
        eflags | ZF
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_follow_sdm() {
        // SHL 8-bit by 8: CF is the last bit out (bit 0 of the source).
        assert_eq!(shift(ShiftOp::Shl, 0x01, 8, 1, 0).1 & CF, CF);
        assert_eq!(shift(ShiftOp::Shl, 0x01, 8, 1, 0).0, 0);
        // Count 0 leaves flags alone.
        assert_eq!(shift(ShiftOp::Shr, 0x80, 0, 1, 0x8D5), (0x80, 0x8D5));
        // SAR keeps the sign.
        assert_eq!(shift(ShiftOp::Sar, 0x80, 3, 1, 0).0, 0xF0);
        assert_eq!(shift(ShiftOp::Sar, 0x8000_0000, 31, 4, 0).0, 0xFFFF_FFFF);
        // ROL by 8 on a byte: value unchanged, CF = bit 0.
        assert_eq!(shift(ShiftOp::Rol, 0x81, 8, 1, 0), (0x81, CF));
        // RCL 8-bit count 9 is a full rotation through CF.
        assert_eq!(shift(ShiftOp::Rcl, 0x55, 9, 1, CF).0, 0x55);
        assert_eq!(shift(ShiftOp::Rcr, 0x01, 1, 1, 0).0, 0x00);
        assert_eq!(shift(ShiftOp::Rcr, 0x01, 1, 1, 0).1 & CF, CF);
    }

    #[test]
    fn double_shifts() {
        assert_eq!(double_shift(true, 0x1234, 0xABCD, 4, 2, 0).0, 0x234A);
        assert_eq!(double_shift(false, 0x1234, 0xABCD, 4, 2, 0).0, 0xD123);
        assert_eq!(
            double_shift(true, 0x8000_0000, 0, 1, 4, 0).1 & (CF | OF | ZF),
            CF | OF | ZF
        );
    }

    #[test]
    fn mul_div() {
        assert_eq!(mul(false, 0xFF, 0xFF, 1, 0).0, 0x01);
        assert_eq!(mul(false, 0xFF, 0xFF, 1, 0).1, 0xFE);
        assert_eq!(mul(true, 0xFF, 0xFF, 1, 0).2 & (CF | OF), 0);
        assert_eq!(mul(true, 0x80, 0xFF, 1, 0).2 & (CF | OF), CF | OF);
        assert_eq!(div(false, 100, 0, 7, 1), Ok((14, 2)));
        assert!(div(false, 0, 1, 1, 1).is_err(), "quotient overflow");
        assert!(div(true, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFF, 4).is_err());
        assert_eq!(
            div(true, (-7i32) as u32, 0xFFFF_FFFF, 2, 4),
            Ok(((-3i32) as u32, (-1i32) as u32))
        );
        assert!(div(false, 1, 0, 0, 4).is_err());
    }

    #[test]
    fn bcd() {
        // 0x79 + 0x35 = 0xAE → DAA → 0x14, CF.
        let (al, f) = daa(0xAE, 0);
        assert_eq!((al, f & CF), (0x14, CF));
        let (al, _) = das(0x0F, 0);
        assert_eq!(al, 0x09);
        assert_eq!(aaa_aas(0x000B, false, 0).0, 0x0101);
        assert_eq!(aam(0x3F, 10, 0).unwrap().0, 0x0603);
        assert!(aam(1, 0, 0).is_err());
        assert_eq!(aad(0x0603, 10, 0).0, 0x3F);
    }
}
