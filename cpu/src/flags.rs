//! Arithmetic status flags (SDM vol. 1, 3.4.3.1 and appendix A).
//!
//! Flags are computed eagerly into EFLAGS from the operands and the result
//! of each operation; the helpers here are the single definition used by
//! every instruction group.

use crate::exec::{mask, sign_bit, Exec, Size};
use crate::state::flags::*;

/// PF of every byte value: set when the number of 1 bits is even.
static PARITY: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        if (i as u8).count_ones().is_multiple_of(2) {
            t[i] = PF as u8;
        }
        i += 1;
    }
    t
};

/// PF: even parity of the low byte of the result.
#[inline(always)]
pub fn parity(r: u32) -> u32 {
    PARITY[(r & 0xFF) as usize] as u32
}

/// ZF, SF and PF of a result of width `size`.
#[inline(always)]
pub fn szp(r: u32, size: Size) -> u32 {
    let r = r & mask(size);
    let mut f = parity(r);
    if r == 0 {
        f |= ZF;
    }
    if r & sign_bit(size) != 0 {
        f |= SF;
    }
    f
}

/// Flags of `a + b + carry = r`.
#[inline(always)]
pub fn add_flags(a: u32, b: u32, carry: u32, size: Size) -> (u32, u32) {
    let m = mask(size);
    let full = (a & m) as u64 + (b & m) as u64 + carry as u64;
    let r = full as u32 & m;
    let mut f = szp(r, size);
    if full >> (size as u32 * 8) != 0 {
        f |= CF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= AF;
    }
    if (a ^ r) & (b ^ r) & sign_bit(size) != 0 {
        f |= OF;
    }
    (r, f)
}

/// Flags of `a - b - borrow = r`.
#[inline(always)]
pub fn sub_flags(a: u32, b: u32, borrow: u32, size: Size) -> (u32, u32) {
    let m = mask(size);
    let (a, b) = (a & m, b & m);
    let r = a.wrapping_sub(b).wrapping_sub(borrow) & m;
    let mut f = szp(r, size);
    if (a as u64) < b as u64 + borrow as u64 {
        f |= CF;
    }
    if (a ^ b ^ r) & 0x10 != 0 {
        f |= AF;
    }
    if (a ^ b) & (a ^ r) & sign_bit(size) != 0 {
        f |= OF;
    }
    (r, f)
}

impl Exec<'_> {
    /// Replaces the status flags selected by `which` with those in `f`.
    #[inline]
    pub fn set_status(&mut self, which: u32, f: u32) {
        self.s.eflags = (self.s.eflags & !which) | (f & which);
    }

    #[inline]
    pub fn cf(&self) -> u32 {
        self.s.eflags & CF
    }

    /// Condition codes (SDM vol. 1, appendix B) by their 4-bit encoding.
    pub fn cond(&self, cc: u8) -> bool {
        let f = self.s.eflags;
        let r = match cc >> 1 {
            0 => f & OF != 0,
            1 => f & CF != 0,
            2 => f & ZF != 0,
            3 => f & (CF | ZF) != 0,
            4 => f & SF != 0,
            5 => f & PF != 0,
            6 => (f & SF != 0) != (f & OF != 0),
            _ => f & ZF != 0 || ((f & SF != 0) != (f & OF != 0)),
        };
        r ^ (cc & 1 != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_overflow_and_carry() {
        let (r, f) = add_flags(0x7F, 1, 0, 1);
        assert_eq!(r, 0x80);
        assert_eq!(f & (OF | SF | CF | AF | ZF), OF | SF | AF);
        let (r, f) = add_flags(0xFFFF_FFFF, 1, 0, 4);
        assert_eq!(r, 0);
        assert_eq!(f & (OF | ZF | CF | PF), ZF | CF | PF);
        let (r, f) = add_flags(0xFF, 0xFF, 1, 1);
        assert_eq!(r, 0xFF);
        assert_eq!(f & CF, CF);
    }

    #[test]
    fn sub_borrow() {
        let (r, f) = sub_flags(0, 1, 0, 2);
        assert_eq!(r, 0xFFFF);
        assert_eq!(f & (CF | SF | OF), CF | SF);
        let (r, f) = sub_flags(0x80, 1, 0, 1);
        assert_eq!(r, 0x7F);
        assert_eq!(f & (OF | CF), OF);
        let (_, f) = sub_flags(5, 5, 1, 4);
        assert_eq!(f & CF, CF);
    }
}
