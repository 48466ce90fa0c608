//! Exact 80-bit extended-precision arithmetic as the x87 does it (SDM vol. 1,
//! ch. 4 and 8): operands are unpacked to a 64-bit significand, results are
//! computed exactly (or with a sticky bit) in 128 bits and rounded once, to
//! 24, 53 or 64 bits of significand per the precision control, with the
//! 15-bit exponent range, tininess detected after rounding, and the masked
//! and unmasked responses of SDM 4.9 / 8.5 (bias-adjusted results for an
//! unmasked overflow or underflow with a register destination).
//!
//! Operations take a [`Ctx`] (rounding, precision, masks) and record the
//! exception flags raised and whether the significand was rounded up (C1).
//! They return `None` when an unmasked pre-computation exception (invalid,
//! denormal operand, zero divide) means no result is written.

use std::cmp::Ordering;
use std::ops::Neg;

/// Exception flags, as in the status word's low bits.
pub const IE: u8 = 0x01;
pub const DE: u8 = 0x02;
pub const ZE: u8 = 0x04;
pub const OE: u8 = 0x08;
pub const UE: u8 = 0x10;
pub const PE: u8 = 0x20;
/// Stack fault (with IE).
pub const SF: u8 = 0x40;

const BIAS: i32 = 16383;

/// An 80-bit register value: 64-bit significand with explicit integer bit,
/// sign and 15-bit biased exponent.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct F80 {
    pub mant: u64,
    /// Sign (bit 15) and biased exponent.
    pub se: u16,
}

impl F80 {
    pub const ZERO: F80 = F80 { mant: 0, se: 0 };
    pub const ONE: F80 = F80 {
        mant: 1 << 63,
        se: 0x3FFF,
    };
    /// The QNaN floating-point indefinite.
    pub const INDEFINITE: F80 = F80 {
        mant: 0xC000_0000_0000_0000,
        se: 0xFFFF,
    };
    pub const INF: F80 = F80 {
        mant: 1 << 63,
        se: 0x7FFF,
    };

    pub const fn new(sign: bool, exp: u16, mant: u64) -> F80 {
        F80 {
            mant,
            se: ((sign as u16) << 15) | (exp & 0x7FFF),
        }
    }
    pub fn from_bits(b: u128) -> F80 {
        F80 {
            mant: b as u64,
            se: (b >> 64) as u16,
        }
    }
    pub fn to_bits(self) -> u128 {
        (self.se as u128) << 64 | self.mant as u128
    }
    #[inline]
    pub fn sign(self) -> bool {
        self.se & 0x8000 != 0
    }
    #[inline]
    pub fn exp(self) -> u16 {
        self.se & 0x7FFF
    }
    pub fn abs(self) -> F80 {
        F80 {
            mant: self.mant,
            se: self.se & 0x7FFF,
        }
    }
    pub fn with_sign(self, s: bool) -> F80 {
        F80::new(s, self.exp(), self.mant)
    }
    pub fn zero(sign: bool) -> F80 {
        F80::new(sign, 0, 0)
    }
    pub fn inf(sign: bool) -> F80 {
        F80::new(sign, 0x7FFF, 1 << 63)
    }
    pub fn is_zero(self) -> bool {
        self.exp() == 0 && self.mant == 0
    }
    pub fn is_nan(self) -> bool {
        self.exp() == 0x7FFF && self.mant >> 63 == 1 && self.mant << 1 != 0
    }
    pub fn is_snan(self) -> bool {
        self.is_nan() && self.mant & (1 << 62) == 0
    }
    pub fn is_inf(self) -> bool {
        self.exp() == 0x7FFF && self.mant == 1 << 63
    }
    /// Denormal or pseudo-denormal.
    pub fn is_denormal(self) -> bool {
        self.exp() == 0 && self.mant != 0
    }
    /// Unnormal, pseudo-infinity or pseudo-NaN: invalid as an operand.
    pub fn is_unsupported(self) -> bool {
        self.exp() != 0 && self.mant >> 63 == 0
    }
    pub fn quiet(self) -> F80 {
        F80 {
            mant: self.mant | 1 << 62,
            se: self.se,
        }
    }
    pub fn class(self) -> Class {
        if self.is_unsupported() {
            Class::Unsupported
        } else if self.exp() == 0x7FFF {
            if self.mant << 1 == 0 {
                Class::Inf
            } else if self.is_snan() {
                Class::SNaN
            } else {
                Class::QNaN
            }
        } else if self.exp() == 0 {
            if self.mant == 0 {
                Class::Zero
            } else {
                Class::Denormal
            }
        } else {
            Class::Normal
        }
    }
}

impl std::ops::Neg for F80 {
    type Output = F80;
    fn neg(self) -> F80 {
        F80 {
            mant: self.mant,
            se: self.se ^ 0x8000,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Zero,
    Denormal,
    Normal,
    Inf,
    QNaN,
    SNaN,
    Unsupported,
}

impl Class {
    fn is_nan(self) -> bool {
        matches!(self, Class::QNaN | Class::SNaN)
    }
}

/// Rounding control (FCW bits 10–11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rc {
    Nearest,
    Down,
    Up,
    Zero,
}

impl Rc {
    pub fn from_bits(b: u16) -> Rc {
        match b & 3 {
            0 => Rc::Nearest,
            1 => Rc::Down,
            2 => Rc::Up,
            _ => Rc::Zero,
        }
    }
}

/// The environment of one operation and what it raised.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub rc: Rc,
    /// Significand bits for results affected by precision control.
    pub prec: u32,
    /// Exception masks (FCW bits 0–5): a set bit masks.
    pub masks: u8,
    /// Flags raised (IE..PE, SF).
    pub flags: u8,
    /// The last rounding incremented the significand (C1 "round up").
    pub up: bool,
}

impl Ctx {
    pub fn new(fcw: u16) -> Ctx {
        Ctx {
            rc: Rc::from_bits(fcw >> 10),
            prec: match (fcw >> 8) & 3 {
                0 => 24,
                2 => 53,
                _ => 64,
            },
            masks: (fcw & 0x3F) as u8,
            flags: 0,
            up: false,
        }
    }
    #[inline]
    pub fn raise(&mut self, f: u8) {
        self.flags |= f;
    }
    #[inline]
    pub fn masked(&self, f: u8) -> bool {
        self.masks & f == f
    }
    /// Raises `f`; true when it is unmasked (the operation must stop).
    #[inline]
    pub fn stop(&mut self, f: u8) -> bool {
        self.raise(f);
        !self.masked(f)
    }
    /// Invalid operation: the indefinite if masked.
    pub fn invalid(&mut self) -> Option<F80> {
        if self.stop(IE) {
            None
        } else {
            Some(F80::INDEFINITE)
        }
    }
    /// The denormal-operand check for operands `c`: false if the
    /// operation must stop.
    pub fn denormal_ok(&mut self, c: &[Class]) -> bool {
        if c.contains(&Class::Denormal) {
            !self.stop(DE)
        } else {
            true
        }
    }
}

/// A destination format for rounding.
#[derive(Clone, Copy, Debug)]
pub struct Fmt {
    pub prec: u32,
    pub bias: i32,
    /// Largest biased exponent of a finite number.
    pub emax: i32,
}

pub const EXT: Fmt = Fmt {
    prec: 64,
    bias: BIAS,
    emax: 0x7FFE,
};
pub const SINGLE: Fmt = Fmt {
    prec: 24,
    bias: 127,
    emax: 254,
};
pub const DOUBLE: Fmt = Fmt {
    prec: 53,
    bias: 1023,
    emax: 2046,
};

/// A rounded result: biased exponent and `prec`-bit significand (integer
/// bit at `prec - 1`); an infinity has `bexp == emax + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rounded {
    pub bexp: i32,
    pub sig: u64,
    pub flags: u8,
    pub up: bool,
}

/// The exponent adjustment of an unmasked overflow/underflow (SDM 8.5.4).
const BIAS_ADJUST: i32 = 24576;

fn round_bits(sig: u128, shift: u32, sign: bool, rc: Rc) -> (u128, bool, bool) {
    let kept = sig >> shift;
    let rest = sig & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    let inc = match rc {
        Rc::Nearest => rest > half || (rest == half && kept & 1 == 1),
        Rc::Up => rest != 0 && !sign,
        Rc::Down => rest != 0 && sign,
        Rc::Zero => false,
    };
    (kept + inc as u128, rest != 0, inc)
}

/// Shifts right by `n`, OR-ing the bits shifted out into bit 0.
pub fn shr_jam(x: u128, n: u32) -> u128 {
    if n == 0 {
        x
    } else if n >= 128 {
        (x != 0) as u128
    } else {
        (x >> n) | ((x & ((1u128 << n) - 1)) != 0) as u128
    }
}

/// Rounds the value `sig * 2^(exp - 127)` (`sig` normalized: bit 127 set;
/// bits below the kept ones may carry a sticky bit) to `fmt` with
/// `prec` significand bits.
pub fn round(sign: bool, exp: i32, sig: u128, fmt: Fmt, rc: Rc, masks: u8) -> Rounded {
    debug_assert!(sig >> 127 == 1);
    let p = fmt.prec;
    let shift = 128 - p;
    let e = exp + fmt.bias;
    let (mut k, inexact, inc) = round_bits(sig, shift, sign, rc);
    let mut eu = e;
    if k >> p != 0 {
        k >>= 1;
        eu += 1;
    }
    let pe = if inexact { PE } else { 0 };
    if eu > fmt.emax {
        if masks & OE != 0 {
            let to_inf = match rc {
                Rc::Nearest => true,
                Rc::Up => !sign,
                Rc::Down => sign,
                Rc::Zero => false,
            };
            return if to_inf {
                Rounded {
                    bexp: fmt.emax + 1,
                    sig: 1 << (p - 1),
                    flags: OE | PE,
                    up: true,
                }
            } else {
                Rounded {
                    bexp: fmt.emax,
                    sig: ((1u128 << p) - 1) as u64,
                    flags: OE | PE,
                    up: false,
                }
            };
        }
        return Rounded {
            bexp: eu - BIAS_ADJUST,
            sig: k as u64,
            flags: OE | pe,
            up: inc,
        };
    }
    if eu < 1 {
        if masks & UE == 0 {
            return Rounded {
                bexp: eu + BIAS_ADJUST,
                sig: k as u64,
                flags: UE | pe,
                up: inc,
            };
        }
        // Denormalize the exact value to exponent 1 and round there.
        let s2 = shr_jam(sig, (1 - e) as u32);
        let (k2, inex2, inc2) = round_bits(s2, shift, sign, rc);
        let bexp = (k2 >> (p - 1) != 0) as i32;
        return Rounded {
            bexp,
            sig: k2 as u64,
            flags: if inex2 { UE | PE } else { 0 },
            up: inc2,
        };
    }
    Rounded {
        bexp: eu,
        sig: k as u64,
        flags: pe,
        up: inc,
    }
}

/// Packs a rounded extended result (with any precision) into 80 bits.
fn pack80(sign: bool, r: &Rounded, prec: u32) -> F80 {
    let bexp = r.bexp.clamp(0, 0x7FFF) as u16;
    if r.bexp > 0x7FFE {
        return F80::inf(sign);
    }
    if r.bexp < 0 {
        return F80::zero(sign);
    }
    F80::new(sign, bexp, r.sig << (64 - prec))
}

impl Ctx {
    /// Rounds `sig * 2^(exp - 127)` to an extended result with `prec` bits.
    pub fn finish(&mut self, sign: bool, exp: i32, sig: u128, prec: u32) -> F80 {
        let fmt = Fmt { prec, ..EXT };
        let r = round(sign, exp, sig, fmt, self.rc, self.masks);
        self.flags |= r.flags;
        self.up = r.up;
        pack80(sign, &r, prec)
    }
    /// Rounds a finite nonzero value given as a 64-bit significand `m`
    /// (top bit set) with value `m * 2^(e - 63)` plus a sticky bit.
    fn finish64(&mut self, sign: bool, e: i32, m: u64, sticky: bool, prec: u32) -> F80 {
        self.finish(sign, e, (m as u128) << 64 | sticky as u128, prec)
    }
}

/// Unpacks a finite nonzero value (normal or denormal) to `(e, m)` with
/// value `m * 2^(e - 63)` and `m`'s top bit set.
pub fn unpack(a: F80) -> (i32, u64) {
    if a.exp() == 0 {
        let lz = a.mant.leading_zeros() as i32;
        (1 - BIAS - lz, a.mant << lz)
    } else {
        (a.exp() as i32 - BIAS, a.mant)
    }
}

/// The NaN result of an operation with a NaN operand (SDM table 4-7):
/// an SNaN raises IE; a QNaN is preferred to an SNaN; of two of the same
/// kind the larger significand wins (the positive one on a tie).
pub fn nan_result(ctx: &mut Ctx, a: F80, b: F80) -> Option<F80> {
    let (an, bn) = (a.is_nan(), b.is_nan());
    let (asn, bsn) = (a.is_snan(), b.is_snan());
    if (asn || bsn) && ctx.stop(IE) {
        return None;
    }
    let r = if an && bn {
        if asn == bsn {
            match a.mant.cmp(&b.mant) {
                Ordering::Greater => a,
                Ordering::Less => b,
                Ordering::Equal => {
                    if a.se <= b.se {
                        a
                    } else {
                        b
                    }
                }
            }
        } else if asn {
            b
        } else {
            a
        }
    } else if an {
        a
    } else {
        b
    };
    Some(r.quiet())
}

/// Checks for unsupported and NaN operands: `Err(result)` ends the operation.
fn pre(ctx: &mut Ctx, a: F80, b: F80) -> Result<(Class, Class), Option<F80>> {
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Unsupported || cb == Class::Unsupported {
        return Err(ctx.invalid());
    }
    if ca.is_nan() || cb.is_nan() {
        return Err(nan_result(ctx, a, b));
    }
    Ok((ca, cb))
}

fn pre1(ctx: &mut Ctx, a: F80) -> Result<Class, Option<F80>> {
    let c = a.class();
    match c {
        Class::Unsupported => Err(ctx.invalid()),
        Class::QNaN | Class::SNaN => Err(nan_result(ctx, a, a)),
        _ => Ok(c),
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

/// a + b (or a - b), rounded to the precision control.
pub fn add(ctx: &mut Ctx, a: F80, b: F80, sub: bool) -> Option<F80> {
    let (ca, cb) = tri!(pre(ctx, a, b));
    let b = if sub { b.neg() } else { b };
    let (sa, sb) = (a.sign(), b.sign());
    if ca == Class::Inf || cb == Class::Inf {
        if ca == Class::Inf && cb == Class::Inf && sa != sb {
            return ctx.invalid();
        }
        if !ctx.denormal_ok(&[ca, cb]) {
            return None;
        }
        return Some(if ca == Class::Inf { a } else { b });
    }
    if !ctx.denormal_ok(&[ca, cb]) {
        return None;
    }
    let prec = ctx.prec;
    match (ca == Class::Zero, cb == Class::Zero) {
        (true, true) => {
            return Some(F80::zero(if sa == sb { sa } else { ctx.rc == Rc::Down }));
        }
        (true, false) => {
            let (e, m) = unpack(b);
            return Some(ctx.finish64(sb, e, m, false, prec));
        }
        (false, true) => {
            let (e, m) = unpack(a);
            return Some(ctx.finish64(sa, e, m, false, prec));
        }
        _ => {}
    }
    let (mut ea, mut ma) = unpack(a);
    let (mut eb, mut mb) = unpack(b);
    let (mut sx, mut sy) = (sa, sb);
    if (ea, ma) < (eb, mb) {
        std::mem::swap(&mut ea, &mut eb);
        std::mem::swap(&mut ma, &mut mb);
        std::mem::swap(&mut sx, &mut sy);
    }
    let d = (ea - eb) as u32;
    let x = (ma as u128) << 63;
    let y = shr_jam((mb as u128) << 63, d);
    let s = if sx == sy {
        x + y
    } else {
        let s = x - y;
        if s == 0 {
            return Some(F80::zero(ctx.rc == Rc::Down));
        }
        s
    };
    let lz = s.leading_zeros();
    Some(ctx.finish(sx, ea + 1 - lz as i32, s << lz, prec))
}

/// a * b.
pub fn mul(ctx: &mut Ctx, a: F80, b: F80) -> Option<F80> {
    let (ca, cb) = tri!(pre(ctx, a, b));
    let s = a.sign() != b.sign();
    let inf = ca == Class::Inf || cb == Class::Inf;
    let zero = ca == Class::Zero || cb == Class::Zero;
    if inf && zero {
        return ctx.invalid();
    }
    if !ctx.denormal_ok(&[ca, cb]) {
        return None;
    }
    if inf {
        return Some(F80::inf(s));
    }
    if zero {
        return Some(F80::zero(s));
    }
    let (ea, ma) = unpack(a);
    let (eb, mb) = unpack(b);
    let p = ma as u128 * mb as u128;
    let lz = p.leading_zeros();
    Some(ctx.finish(s, ea + eb + 1 - lz as i32, p << lz, ctx.prec))
}

/// a / b.
pub fn div(ctx: &mut Ctx, a: F80, b: F80) -> Option<F80> {
    let (ca, cb) = tri!(pre(ctx, a, b));
    let s = a.sign() != b.sign();
    if (ca == Class::Inf && cb == Class::Inf) || (ca == Class::Zero && cb == Class::Zero) {
        return ctx.invalid();
    }
    if !ctx.denormal_ok(&[ca, cb]) {
        return None;
    }
    if ca == Class::Inf {
        return Some(F80::inf(s));
    }
    if cb == Class::Inf || ca == Class::Zero {
        return Some(F80::zero(s));
    }
    if cb == Class::Zero {
        return if ctx.stop(ZE) {
            None
        } else {
            Some(F80::inf(s))
        };
    }
    let (ea, ma) = unpack(a);
    let (eb, mb) = unpack(b);
    let n = (ma as u128) << 63;
    let (q1, r1) = (n / mb as u128, n % mb as u128);
    let n2 = r1 << 64;
    let (q2, r2) = (n2 / mb as u128, n2 % mb as u128);
    let q = (q1 << 64) | q2 | (r2 != 0) as u128;
    let lz = q.leading_zeros();
    Some(ctx.finish(s, ea - eb - lz as i32, q << lz, ctx.prec))
}

/// Square root.
pub fn sqrt(ctx: &mut Ctx, a: F80) -> Option<F80> {
    let c = tri!(pre1(ctx, a));
    if c == Class::Zero {
        return Some(a);
    }
    if a.sign() {
        return ctx.invalid();
    }
    if !ctx.denormal_ok(&[c]) {
        return None;
    }
    if c == Class::Inf {
        return Some(a);
    }
    let (e, m) = unpack(a);
    // value = m * 2^E with E even.
    let mut big_e = e - 63;
    let mut mm = m as u128;
    if big_e & 1 != 0 {
        mm <<= 1;
        big_e -= 1;
    }
    // Digit-by-digit root of mm * 2^80 (73 bit pairs, 72–73 result bits).
    const F: u32 = 40;
    let mut rem: u128 = 0;
    let mut root: u128 = 0;
    for pair in (0..(33 + F)).rev() {
        let bit = 2 * pair;
        let two = if bit >= 2 * F {
            (mm >> (bit - 2 * F)) & 3
        } else {
            0
        };
        rem = (rem << 2) | two;
        let trial = (root << 2) | 1;
        if rem >= trial {
            rem -= trial;
            root = (root << 1) | 1;
        } else {
            root <<= 1;
        }
    }
    let lz = root.leading_zeros();
    let n = (root << lz) | (rem != 0) as u128;
    Some(ctx.finish(false, big_e / 2 - F as i32 - lz as i32 + 127, n, ctx.prec))
}

/// Exact value of an integer.
pub fn from_i64(v: i64) -> F80 {
    from_u64(v.unsigned_abs()).with_sign(v < 0)
}

/// Exact value of an unsigned integer (+0 for 0).
pub fn from_u64(m: u64) -> F80 {
    if m == 0 {
        return F80::ZERO;
    }
    let lz = m.leading_zeros();
    F80::new(false, (BIAS + 63 - lz as i32) as u16, m << lz)
}

/// Widens a single (`SINGLE`) or double (`DOUBLE`) bit pattern exactly,
/// keeping an SNaN signaling; also tells whether it was a denormal.
pub fn widen(bits: u64, fmt: Fmt) -> (F80, bool) {
    let fb = fmt.prec - 1; // fraction bits
    let ebits = if fmt.prec == 24 { 8 } else { 11 };
    let sign = bits >> (fb + ebits) & 1 != 0;
    let exp = ((bits >> fb) & ((1 << ebits) - 1)) as i32;
    let frac = bits & ((1u64 << fb) - 1);
    if exp == (1 << ebits) - 1 {
        return (F80::new(sign, 0x7FFF, 1 << 63 | frac << (63 - fb)), false);
    }
    if exp == 0 {
        if frac == 0 {
            return (F80::zero(sign), false);
        }
        let lz = frac.leading_zeros() as i32;
        // value = frac * 2^(1 - bias - fb)
        let e = 1 - fmt.bias - fb as i32 + 63 - lz;
        return (F80::new(sign, (e + BIAS) as u16, frac << lz), true);
    }
    let v = F80::new(
        sign,
        (exp - fmt.bias + BIAS) as u16,
        1 << 63 | frac << (63 - fb),
    );
    (v, false)
}

/// FLD m32fp/m64fp: an SNaN raises IE (and is quieted), a denormal DE.
pub fn from_ieee(ctx: &mut Ctx, bits: u64, fmt: Fmt) -> Option<F80> {
    let (v, den) = widen(bits, fmt);
    if v.is_snan() {
        return if ctx.stop(IE) { None } else { Some(v.quiet()) };
    }
    if den && ctx.stop(DE) {
        return None;
    }
    Some(v)
}

/// Narrows to a single or double bit pattern (FST m32/m64). `None` when an
/// unmasked exception means nothing is stored.
pub fn to_ieee(ctx: &mut Ctx, a: F80, fmt: Fmt) -> Option<u64> {
    let fb = fmt.prec - 1;
    let ebits = if fmt.prec == 24 { 8 } else { 11 };
    let emax_all: u64 = (1 << ebits) - 1;
    let sbit = (a.sign() as u64) << (fb + ebits);
    let qbit = 1u64 << (fb - 1);
    match a.class() {
        Class::Unsupported => {
            if ctx.stop(IE) {
                return None;
            }
            Some(1 << (fb + ebits) | emax_all << fb | qbit)
        }
        Class::QNaN | Class::SNaN => {
            if a.is_snan() && ctx.stop(IE) {
                return None;
            }
            let frac = (a.mant << 1) >> (64 - fb);
            Some(sbit | emax_all << fb | frac | qbit)
        }
        Class::Inf => Some(sbit | emax_all << fb),
        Class::Zero => Some(sbit),
        Class::Denormal | Class::Normal => {
            let (e, m) = unpack(a);
            let r = round(a.sign(), e, (m as u128) << 64, fmt, ctx.rc, ctx.masks);
            ctx.flags |= r.flags;
            ctx.up = r.up;
            if r.flags & (OE | UE) & !ctx.masks != 0 {
                return None;
            }
            let frac = r.sig & ((1 << fb) - 1);
            Some(sbit | (r.bexp as u64) << fb | frac)
        }
    }
}

/// Rounds a finite value to an integer per `rc`: (negative, magnitude,
/// inexact, rounded up). `None` if the magnitude is 2^64 or more.
fn round_int(a: F80, rc: Rc) -> Option<(bool, u64, bool, bool)> {
    let sign = a.sign();
    if a.is_zero() {
        return Some((sign, 0, false, false));
    }
    let (e, m) = unpack(a);
    if e >= 64 {
        return None;
    }
    if e == 63 {
        return Some((sign, m, false, false));
    }
    if e < -1 {
        // |a| < 0.5
        let inc = match rc {
            Rc::Up => !sign,
            Rc::Down => sign,
            _ => false,
        };
        return Some((sign, inc as u64, true, inc));
    }
    let shift = (63 - e) as u32; // 1..=64
    let (k, inexact, inc) = round_bits((m as u128) << 63, shift + 63, sign, rc);
    if k >> 64 != 0 {
        return None;
    }
    Some((sign, k as u64, inexact, inc))
}

/// FRNDINT.
pub fn round_to_int(ctx: &mut Ctx, a: F80) -> Option<F80> {
    let c = tri!(pre1(ctx, a));
    if !ctx.denormal_ok(&[c]) {
        return None;
    }
    if matches!(c, Class::Zero | Class::Inf) || a.exp() as i32 >= BIAS + 63 {
        return Some(a);
    }
    let (sign, mag, inexact, inc) = round_int(a, ctx.rc).expect("|a| < 2^63");
    if inexact {
        ctx.raise(PE);
        ctx.up = inc;
    }
    Some(from_u64(mag).with_sign(sign))
}

/// FIST/FISTP/FISTTP: `bits` is 16, 32 or 64. `None`: store nothing.
pub fn to_int(ctx: &mut Ctx, a: F80, bits: u32, rc: Rc) -> Option<i64> {
    let indefinite = i64::MIN >> (64 - bits);
    let inv = |ctx: &mut Ctx| {
        if ctx.stop(IE) {
            None
        } else {
            Some(indefinite)
        }
    };
    match a.class() {
        Class::Unsupported | Class::QNaN | Class::SNaN | Class::Inf => return inv(ctx),
        _ => {}
    }
    let Some((sign, mag, inexact, inc)) = round_int(a, rc) else {
        return inv(ctx);
    };
    let limit = 1u64 << (bits - 1);
    if mag > limit || (mag == limit && !sign) {
        return inv(ctx);
    }
    if inexact {
        ctx.raise(PE);
        ctx.up = inc;
    }
    Some(if sign {
        (mag as i64).wrapping_neg()
    } else {
        mag as i64
    })
}

/// FBLD: 18 packed BCD digits and a sign byte (invalid digits give an
/// undefined result; here they are taken at face value).
pub fn from_bcd(b: &[u8; 10]) -> F80 {
    let mut v: u64 = 0;
    for k in (0..9).rev() {
        v = v * 100 + (b[k] >> 4) as u64 * 10 + (b[k] & 15) as u64;
    }
    from_i64(v as i64).with_sign(b[9] & 0x80 != 0)
}

/// FBSTP: `None` = store nothing.
pub fn to_bcd(ctx: &mut Ctx, a: F80) -> Option<[u8; 10]> {
    const INDEF: [u8; 10] = [0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF];
    let inv = |ctx: &mut Ctx| if ctx.stop(IE) { None } else { Some(INDEF) };
    match a.class() {
        Class::Unsupported | Class::QNaN | Class::SNaN | Class::Inf => return inv(ctx),
        _ => {}
    }
    let Some((sign, mut mag, inexact, inc)) = round_int(a, ctx.rc) else {
        return inv(ctx);
    };
    if mag >= 1_000_000_000_000_000_000 {
        return inv(ctx);
    }
    if inexact {
        ctx.raise(PE);
        ctx.up = inc;
    }
    let mut out = [0u8; 10];
    for byte in out.iter_mut().take(9) {
        let lo = (mag % 10) as u8;
        mag /= 10;
        let hi = (mag % 10) as u8;
        mag /= 10;
        *byte = hi << 4 | lo;
    }
    out[9] = if sign { 0x80 } else { 0 };
    Some(out)
}

/// Result of a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Less,
    Equal,
    Greater,
    Unordered,
}

/// Compares `a` with `b`. `quiet`: only SNaNs raise IE (FUCOM); otherwise
/// any NaN does (FCOM). Unsupported operands always raise IE. `None`: IE
/// or DE unmasked, the condition codes are not set.
pub fn compare(ctx: &mut Ctx, a: F80, b: F80, quiet: bool) -> Option<Cmp> {
    let (ca, cb) = (a.class(), b.class());
    if ca == Class::Unsupported || cb == Class::Unsupported {
        return if ctx.stop(IE) {
            None
        } else {
            Some(Cmp::Unordered)
        };
    }
    if ca.is_nan() || cb.is_nan() {
        let signal = !quiet || ca == Class::SNaN || cb == Class::SNaN;
        if signal && ctx.stop(IE) {
            return None;
        }
        return Some(Cmp::Unordered);
    }
    if !ctx.denormal_ok(&[ca, cb]) {
        return None;
    }
    Some(match order_key(a).cmp(&order_key(b)) {
        Ordering::Less => Cmp::Less,
        Ordering::Equal => Cmp::Equal,
        Ordering::Greater => Cmp::Greater,
    })
}

/// A key that orders non-NaN values numerically (both zeros equal).
fn order_key(a: F80) -> i128 {
    let mag: i128 = if a.is_zero() {
        0
    } else if a.exp() == 0x7FFF {
        i128::MAX / 2
    } else {
        let (e, m) = unpack(a);
        ((e + 20000) as i128) << 64 | m as i128
    };
    if a.sign() {
        -mag
    } else {
        mag
    }
}

/// FPREM (`ieee` false: quotient truncated) / FPREM1 (`ieee`: rounded to
/// nearest). Returns the new ST(0) and the status bits (C2 = incomplete
/// reduction; quotient bits Q2 Q1 Q0 as C0 C3 C1 when complete).
pub fn rem(ctx: &mut Ctx, a: F80, b: F80, ieee: bool) -> (Option<F80>, bool, u8) {
    let (ca, cb) = match pre(ctx, a, b) {
        Ok(c) => c,
        Err(r) => return (r, false, 0),
    };
    if ca == Class::Inf || cb == Class::Zero {
        return (ctx.invalid(), false, 0);
    }
    if !ctx.denormal_ok(&[ca, cb]) {
        return (None, false, 0);
    }
    if ca == Class::Zero || cb == Class::Inf {
        // Denormal ST(0) is returned as it is (after DE).
        return (Some(a), false, 0);
    }
    let (ea, ma) = unpack(a);
    let (eb, mb) = unpack(b);
    let d = ea - eb;
    let sign = a.sign();
    if d >= 64 {
        // Partial remainder: reduce the exponent difference by 32..=63.
        let n = 32 + (d % 32);
        let dd = d - n; // the quotient is truncated at 2^dd: q = trunc(a / (b * 2^dd))
        let mut r = ma as u128;
        // r / (mb * 2^(d - dd)) done by long division over n+1 steps
        let mb = mb as u128;
        if r >= mb {
            r -= mb;
        }
        for _ in 0..n {
            r <<= 1;
            if r >= mb {
                r -= mb;
            }
        }
        // value = r * 2^(eb + dd - 63)
        if r == 0 {
            return (Some(F80::zero(sign)), true, 0);
        }
        let lz = r.leading_zeros();
        let res = ctx.finish(sign, eb + dd - 63 + 127 - lz as i32, r << lz, 64);
        return (Some(res), true, 0);
    }
    let mbb = mb as u128;
    // Work in units of 2^(eb - 64): a = ma * 2^(d + 1), b = 2 * mb.
    let (q, r, neg): (u64, u128, bool) = if d < 0 {
        // |a| < |b|: q = 0 (FPREM1 may round to 1).
        let r = if d + 1 >= 0 {
            (ma as u128) << (d + 1)
        } else {
            shr_jam(ma as u128, (-(d + 1)) as u32)
        };
        (0, r, false)
    } else {
        let mut r = ma as u128;
        let mut q: u64 = 0;
        if r >= mbb {
            r -= mbb;
            q = 1;
        }
        for _ in 0..d {
            r <<= 1;
            q <<= 1;
            if r >= mbb {
                r -= mbb;
                q |= 1;
            }
        }
        (q, r << 1, false)
    };
    let b2 = mbb << 1;
    let (q, r, neg) = if ieee && (r > mbb || (r == mbb && q & 1 == 1)) {
        // r here is in units of 2^(eb-64); half of b is mb.
        (q.wrapping_add(1), b2 - r, !neg)
    } else {
        (q, r, neg)
    };
    let qbits = (q & 7) as u8;
    let rs = sign != neg;
    if r == 0 {
        return (Some(F80::zero(sign)), false, qbits);
    }
    // Sticky from a tiny a under FPREM1's d < -1 path cannot reach here
    // unrounded: with d < -1, r = a exactly unless bits were shifted out,
    // in which case a itself is the remainder.
    if d < -1 {
        return (Some(a), false, 0);
    }
    let lz = r.leading_zeros();
    let res = ctx.finish(rs, eb - 64 + 127 - lz as i32, r << lz, 64);
    (Some(res), false, qbits)
}

/// FSCALE: a * 2^trunc(b).
pub fn scale(ctx: &mut Ctx, a: F80, b: F80) -> Option<F80> {
    let (ca, cb) = tri!(pre(ctx, a, b));
    if cb == Class::Inf {
        if (ca == Class::Zero && !b.sign()) || (ca == Class::Inf && b.sign()) {
            return ctx.invalid();
        }
        if !ctx.denormal_ok(&[ca]) {
            return None;
        }
        if ca == Class::Zero || ca == Class::Inf {
            return Some(a);
        }
        return Some(if b.sign() {
            F80::zero(a.sign())
        } else {
            F80::inf(a.sign())
        });
    }
    if !ctx.denormal_ok(&[ca, cb]) {
        return None;
    }
    if ca == Class::Zero || ca == Class::Inf {
        return Some(a);
    }
    let n: i32 = match round_int(b, Rc::Zero) {
        Some((s, m, _, _)) => {
            let m = m.min(1 << 20) as i32;
            if s {
                -m
            } else {
                m
            }
        }
        None => {
            if b.sign() {
                -(1 << 20)
            } else {
                1 << 20
            }
        }
    };
    let (e, m) = unpack(a);
    Some(ctx.finish64(a.sign(), e + n, m, false, 64))
}

/// FXTRACT: (exponent, significand).
pub fn xtract(ctx: &mut Ctx, a: F80) -> Option<(F80, F80)> {
    let c = match a.class() {
        Class::Unsupported => return ctx.invalid().map(|v| (v, v)),
        Class::QNaN | Class::SNaN => return nan_result(ctx, a, a).map(|v| (v, v)),
        c => c,
    };
    match c {
        Class::Zero => {
            if ctx.stop(ZE) {
                return None;
            }
            Some((F80::inf(true), a))
        }
        Class::Inf => Some((F80::INF, a)),
        _ => {
            if !ctx.denormal_ok(&[c]) {
                return None;
            }
            let (e, m) = unpack(a);
            Some((from_i64(e as i64), F80::new(a.sign(), BIAS as u16, m)))
        }
    }
}

/// Rounds an arbitrary-precision value for the transcendental functions:
/// `sig * 2^(exp - 127)` with a forced sticky bit (the exact result is
/// irrational), to 64 bits.
pub fn finish_inexact(ctx: &mut Ctx, sign: bool, exp: i32, sig: u128) -> F80 {
    ctx.finish(sign, exp, sig | 1, 64)
}

#[cfg(test)]
mod tests;
