//! Transcendental instructions: FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1,
//! FYL2X, FYL2XP1.
//!
//! Each is evaluated in IEEE quad precision (113 bits, rustc_apfloat) by
//! series with argument reduction, and the result is rounded once to 64
//! bits per RC with the inexact flag set. The quad approximation is good
//! to about 2^-105 relative, so results are correctly rounded except in
//! rare near-halfway cases (an error of at most one unit in the last place;
//! arguments below about 2^-57 may round the wrong way in the directed
//! modes). FSIN/FCOS/FSINCOS/FPTAN reduce their argument modulo pi/2 with
//! 320 bits of 2/pi, i.e. with the true pi rather than the 66-bit one of
//! Intel hardware: results for arguments near multiples of pi are more
//! accurate than a real x87's. Arguments of magnitude 2^63 or more set C2
//! and leave ST(0) as it is.

use super::softfloat::{self as sf, unpack, Class, Ctx, F80};
use super::{underflow, FpuState};
use crate::exception::Result;
use crate::exec::Exec;
use iced_x86::{Code, Instruction};
use rustc_apfloat::ieee::Quad;
use rustc_apfloat::Float;
use std::ops::Neg;
use std::sync::OnceLock;

pub(super) fn exec(x: &mut Exec<'_>, _i: &Instruction, code: Code) -> Option<Result<()>> {
    use Code as C;
    let f = &mut x.s.fpu;
    match code {
        C::Fsin | C::Fcos => trig1(f, code == C::Fsin),
        C::Fsincos | C::Fptan => trig2(f, code == C::Fptan),
        C::F2xm1 => super::arith::st0_op(f, f2xm1),
        C::Fpatan | C::Fyl2x | C::Fyl2xp1 => binary(f, code),
        _ => return None,
    }
    Some(Ok(()))
}

// ---- quad helpers -----------------------------------------------------------

type Q = Quad;

fn add(a: Q, b: Q) -> Q {
    (a + b).value
}
fn sub(a: Q, b: Q) -> Q {
    (a - b).value
}
fn mul(a: Q, b: Q) -> Q {
    (a * b).value
}
fn div(a: Q, b: Q) -> Q {
    (a / b).value
}
fn int(v: i64) -> Q {
    let q = Q::from_u128(v.unsigned_abs() as u128).value;
    if v < 0 {
        -q
    } else {
        q
    }
}

struct Consts {
    pi: Q,
    pi_2: Q,
    pi_4: Q,
    ln2: Q,
}

fn consts() -> &'static Consts {
    static C: OnceLock<Consts> = OnceLock::new();
    C.get_or_init(|| {
        let pi: Q = "3.14159265358979323846264338327950288419716939937510582"
            .parse()
            .unwrap();
        let ln2: Q = "0.69314718055994530941723212145817656807550013436025525"
            .parse()
            .unwrap();
        Consts {
            pi,
            pi_2: pi.scalbn(-1),
            pi_4: pi.scalbn(-2),
            ln2,
        }
    })
}

/// Exact conversion of a finite value.
fn to_q(v: F80) -> Q {
    if v.is_zero() {
        return if v.sign() { -Q::ZERO } else { Q::ZERO };
    }
    let (e, m) = unpack(v);
    let q = Q::from_u128(m as u128).value.scalbn(e - 63);
    if v.sign() {
        -q
    } else {
        q
    }
}

/// Rounds a quad approximation of an irrational result to 64 bits.
fn from_q(ctx: &mut Ctx, q: Q) -> F80 {
    if q.is_zero() {
        return F80::zero(q.is_negative());
    }
    if q.is_infinite() {
        return ctx.finish(q.is_negative(), 0x7FFF, 1 << 127, 64);
    }
    let bits = q.to_bits();
    let sign = bits >> 127 != 0;
    let bexp = ((bits >> 112) & 0x7FFF) as i32;
    let frac = bits & ((1u128 << 112) - 1);
    let (e, sig) = if bexp == 0 {
        let lz = frac.leading_zeros();
        // value = frac * 2^(-16382 - 112)
        (-16382 - 112 + 127 - lz as i32, frac << lz)
    } else {
        (bexp - 16383, (1u128 << 112 | frac) << 15)
    };
    sf::finish_inexact(ctx, sign, e, sig)
}

// ---- sin, cos, tan ----------------------------------------------------------

/// 2/pi to 320 bits, least significant limb first.
const TWO_OVER_PI: [u64; 5] = [
    0xb724_6e3a_424d_d2e0,
    0xfe51_63ab_debb_c561,
    0xdb62_9599_3c43_9041,
    0xfc27_57d1_f534_ddc0,
    0xa2f9_836e_4e44_1529,
];

/// Reduces |x| (finite, below 2^63) to k*pi/2 + r with |r| <= pi/4.
fn reduce(x: F80) -> (u64, Q) {
    let c = consts();
    let ax = x.abs();
    let (e, m) = unpack(ax);
    if e < -1 {
        return (0, to_q(ax));
    }
    // p = m * 2/pi * 2^320 (384 bits, little-endian limbs)
    let mut p = [0u64; 6];
    let mut carry = 0u128;
    for (k, limb) in TWO_OVER_PI.iter().enumerate() {
        let t = (*limb as u128) * (m as u128) + carry;
        p[k] = t as u64;
        carry = t >> 64;
    }
    p[5] = carry as u64;
    // x * 2/pi = p * 2^(e - 63 - 320): the binary point is at bit s.
    let s = (320 + 63 - e) as u32; // 321..=384
    let bit = |n: u32| (p[(n / 64) as usize] >> (n % 64)) & 1;
    let mut k: u64 = 0;
    for n in (s..384).rev() {
        k = k << 1 | bit(n);
    }
    // The fraction below the binary point, as a big number of s bits.
    let mut frac = p;
    for n in s..384 {
        frac[(n / 64) as usize] &= !(1u64 << (n % 64));
    }
    let mut neg = false;
    if bit(s - 1) == 1 {
        // f >= 1/2: use f - 1 (negated: 2^s - frac).
        k = k.wrapping_add(1);
        neg = true;
        let mut borrow = 0u64;
        for limb in frac.iter_mut() {
            let (v, b1) = 0u64.overflowing_sub(*limb);
            let (v, b2) = v.overflowing_sub(borrow);
            *limb = v;
            borrow = (b1 || b2) as u64;
        }
        for n in s..384 {
            frac[(n / 64) as usize] &= !(1u64 << (n % 64));
        }
    }
    // Leading one of the fraction, then 128 bits from there.
    let lead = (0..s)
        .rev()
        .find(|&n| (frac[(n / 64) as usize] >> (n % 64)) & 1 == 1);
    let Some(lead) = lead else {
        return (k, Q::ZERO);
    };
    let mut top: u128 = 0;
    for j in 0..128u32 {
        let n = lead as i64 - j as i64;
        let b = if n >= 0 {
            (frac[(n / 64) as usize] >> (n % 64)) & 1
        } else {
            0
        };
        top = top << 1 | b as u128;
    }
    // fraction = top * 2^(lead - 127 - s)
    let f = Q::from_u128(top).value.scalbn(lead as i32 - 127 - s as i32);
    let r = mul(f, c.pi_2);
    (k, if neg { -r } else { r })
}

/// sin and cos of |r| <= pi/4 by their Taylor series.
fn sin_cos(r: Q) -> (Q, Q) {
    let r2 = mul(r, r);
    let eps = Q::from_u128(1).value.scalbn(-120);
    let mut s = r;
    let mut term = r;
    let mut n = 1i64;
    loop {
        term = -div(mul(term, r2), int((2 * n) * (2 * n + 1)));
        s = add(s, term);
        n += 1;
        if term.abs() < mul(eps, s.abs()) || term.is_zero() || n > 40 {
            break;
        }
    }
    let mut c = Q::from_u128(1).value;
    let mut term = c;
    let mut n = 1i64;
    loop {
        term = -div(mul(term, r2), int((2 * n - 1) * (2 * n)));
        c = add(c, term);
        n += 1;
        if term.abs() < eps || term.is_zero() || n > 40 {
            break;
        }
    }
    (s, c)
}

/// (sin x, cos x) for finite |x| < 2^63.
fn sincos_q(x: F80) -> (Q, Q) {
    let (k, r) = reduce(x);
    let (s, c) = sin_cos(r);
    let (s, c) = match k & 3 {
        0 => (s, c),
        1 => (c, -s),
        2 => (-s, -c),
        _ => (-c, s),
    };
    (if x.sign() { -s } else { s }, c)
}

/// Checks ST(0) for the trigonometric instructions: `Err(true)` when the
/// operand is out of range (C2 set, nothing changes), `Err(false)` when the
/// instruction is done (NaN, invalid, stack fault, unmasked exception),
/// `Ok` to compute.
fn trig_operand(f: &mut FpuState, ctx: &mut Ctx) -> std::result::Result<F80, Option<F80>> {
    let a = f.st(0);
    match a.class() {
        Class::Unsupported | Class::Inf => Err(ctx.invalid()),
        Class::QNaN | Class::SNaN => Err(sf::nan_result(ctx, a, a)),
        c => {
            if !ctx.denormal_ok(&[c]) {
                return Err(None);
            }
            Ok(a)
        }
    }
}

fn out_of_range(a: F80) -> bool {
    a.exp() as i32 >= 16383 + 63 && a.exp() != 0x7FFF
}

fn trig1(f: &mut FpuState, sin: bool) {
    if f.is_empty(0) {
        if underflow(f) {
            f.set_st(0, F80::INDEFINITE);
        }
        return;
    }
    if out_of_range(f.st(0)) {
        f.fsw |= super::sw::C2;
        return;
    }
    let mut ctx = f.ctx();
    let r = match trig_operand(f, &mut ctx) {
        Err(r) => r,
        Ok(a) if a.is_zero() => Some(if sin { a } else { F80::ONE }),
        Ok(a) => {
            let (s, c) = sincos_q(a);
            Some(from_q(&mut ctx, if sin { s } else { c }))
        }
    };
    f.commit(&ctx, false);
    f.fsw &= !super::sw::C2;
    if let Some(r) = r {
        f.set_st(0, r);
    }
}

/// FSINCOS (ST(0) ← sin, push cos) and FPTAN (ST(0) ← tan, push 1.0).
fn trig2(f: &mut FpuState, tan: bool) {
    if f.is_empty(0) {
        if underflow(f) {
            f.set_st(0, F80::INDEFINITE);
            if f.is_empty(7) {
                f.push(F80::INDEFINITE);
            }
        }
        return;
    }
    if out_of_range(f.st(0)) {
        f.fsw |= super::sw::C2;
        return;
    }
    if !f.is_empty(7) {
        let mut ctx = f.ctx();
        ctx.raise(sf::IE | sf::SF);
        f.commit(&ctx, true);
        if ctx.masked(sf::IE) {
            f.set_st(0, F80::INDEFINITE);
            f.push(F80::INDEFINITE);
        }
        return;
    }
    let mut ctx = f.ctx();
    let r = match trig_operand(f, &mut ctx) {
        Err(r) => r.map(|v| (v, v)),
        Ok(a) if a.is_zero() => Some((a, F80::ONE)),
        Ok(a) => {
            let (s, c) = sincos_q(a);
            if tan {
                Some((from_q(&mut ctx, div(s, c)), F80::ONE))
            } else {
                let sv = from_q(&mut ctx, s);
                let up = ctx.up;
                let cv = from_q(&mut ctx, c);
                ctx.up |= up;
                Some((sv, cv))
            }
        }
    };
    f.commit(&ctx, false);
    f.fsw &= !super::sw::C2;
    if let Some((a, b)) = r {
        f.set_st(0, a);
        f.push(b);
    }
}

// ---- exponential and logarithms ---------------------------------------------

/// e^z - 1 for |z| <= about 1, by the series at z/2^10 and doubling.
fn expm1(z: Q) -> Q {
    const HALVINGS: i32 = 10;
    let w = z.scalbn(-HALVINGS);
    let eps = Q::from_u128(1).value.scalbn(-125);
    let mut sum = w;
    let mut term = w;
    let mut n = 2i64;
    loop {
        term = div(mul(term, w), int(n));
        sum = add(sum, term);
        n += 1;
        if term.abs() < mul(eps, sum.abs()) || term.is_zero() || n > 40 {
            break;
        }
    }
    let two = int(2);
    for _ in 0..HALVINGS {
        sum = mul(sum, add(sum, two));
    }
    sum
}

/// F2XM1: 2^x - 1 (defined for -1 <= x <= 1; larger |x| are computed too).
fn f2xm1(ctx: &mut Ctx, a: F80) -> Option<F80> {
    let c = match a.class() {
        Class::Unsupported => return ctx.invalid(),
        Class::QNaN | Class::SNaN => return sf::nan_result(ctx, a, a),
        Class::Zero => return Some(a),
        Class::Inf => return Some(if a.sign() { F80::ONE.neg() } else { a }),
        c => c,
    };
    if !ctx.denormal_ok(&[c]) {
        return None;
    }
    if let Some(n) = small_int(a) {
        // 2^n - 1 for an integer n: exact, or rounded once.
        let n = if a.sign() { -(n as i32) } else { n as i32 };
        let p = F80::new(false, (16383 + n) as u16, 1 << 63);
        return sf::add(ctx, p, F80::ONE, true);
    }
    let k = consts();
    let xq = to_q(a);
    if a.exp() < 0x3FFF {
        // |x| < 1
        return Some(from_q(ctx, expm1(mul(xq, k.ln2))));
    }
    // 2^x - 1 = 2^n * 2^f - 1 with n = round(x), |f| <= 1/2.
    let n = xq
        .round_to_integral(rustc_apfloat::Round::NearestTiesToEven)
        .value;
    let fq = sub(xq, n);
    let ni = if n.abs() > int(20000) {
        if n.is_negative() {
            -20000
        } else {
            20000
        }
    } else {
        n.to_i128(64).value as i32
    };
    let one = int(1);
    let p = add(expm1(mul(fq, k.ln2)), one).scalbn(ni);
    Some(from_q(ctx, sub(p, one)))
}

/// |a| when `a` is an integer of magnitude 1 to 2^14 - 1.
fn small_int(a: F80) -> Option<u64> {
    if a.exp() < 0x3FFF || a.exp() > 0x3FFF + 13 {
        return None;
    }
    let (e, m) = unpack(a);
    if m << (e + 1) != 0 {
        return None;
    }
    Some(m >> (63 - e))
}

/// 2 * atanh(u) = ln((1 + u) / (1 - u)) for |u| < 1/2.
fn two_atanh(u: Q) -> Q {
    let u2 = mul(u, u);
    let eps = Q::from_u128(1).value.scalbn(-125);
    let mut sum = u;
    let mut pow = u;
    let mut n = 3i64;
    loop {
        pow = mul(pow, u2);
        let term = div(pow, int(n));
        sum = add(sum, term);
        n += 2;
        if term.abs() < mul(eps, sum.abs()) || term.is_zero() || n > 400 {
            break;
        }
    }
    sum.scalbn(1)
}

/// log2 of a finite positive value.
fn log2_q(a: F80) -> Q {
    let k = consts();
    let (mut e, m) = unpack(a);
    // mantissa in [1, 2)
    let mut mq = Q::from_u128(m as u128).value.scalbn(-63);
    // sqrt(2) ~ 0xB504F333F9DE6484 * 2^-63
    if m > 0xB504_F333_F9DE_6484 {
        mq = mq.scalbn(-1);
        e += 1;
    }
    let one = int(1);
    let u = div(sub(mq, one), add(mq, one));
    let l = div(two_atanh(u), k.ln2);
    add(int(e as i64), l)
}

/// atan(t) for 0 <= t <= 1, by three argument halvings and the series.
fn atan01(t: Q) -> Q {
    let one = int(1);
    let mut t = t;
    for _ in 0..3 {
        // t / (1 + sqrt(1 + t^2))
        t = div(t, add(one, sqrt_q(add(one, mul(t, t)))));
    }
    let t2 = mul(t, t);
    let eps = Q::from_u128(1).value.scalbn(-125);
    let mut sum = t;
    let mut pow = t;
    let mut n = 3i64;
    let mut neg = true;
    loop {
        pow = mul(pow, t2);
        let term = div(pow, int(n));
        sum = if neg { sub(sum, term) } else { add(sum, term) };
        neg = !neg;
        n += 2;
        if term.abs() < mul(eps, sum.abs()) || term.is_zero() || n > 400 {
            break;
        }
    }
    sum.scalbn(3)
}

/// Square root of a quad in [1, 2], Newton from the f64 estimate.
fn sqrt_q(a: Q) -> Q {
    let approx = f64::from_bits(
        // a is in [1, 4]: take its top bits through f64
        {
            let b = a.to_bits();
            let exp = ((b >> 112) & 0x7FFF) as i64 - 16383 + 1023;
            let frac = ((b >> 60) & ((1 << 52) - 1)) as u64;
            (exp as u64) << 52 | frac
        },
    )
    .sqrt();
    let mut s: Q = {
        let bits = approx.to_bits();
        let exp = ((bits >> 52) & 0x7FF) as u128 - 1023 + 16383;
        let frac = (bits & ((1 << 52) - 1)) as u128;
        Q::from_bits(exp << 112 | frac << 60)
    };
    let half = Q::from_u128(1).value.scalbn(-1);
    for _ in 0..3 {
        s = mul(add(s, div(a, s)), half);
    }
    s
}

/// atan2(y, x) for finite nonzero y and x.
fn atan2_q(y: Q, x: Q) -> Q {
    let c = consts();
    let (ay, ax) = (y.abs(), x.abs());
    let swap = ay > ax;
    let t = if swap { div(ax, ay) } else { div(ay, ax) };
    let mut a = atan01(t);
    if swap {
        a = sub(c.pi_2, a);
    }
    if x.is_negative() {
        a = sub(c.pi, a);
    }
    if y.is_negative() {
        -a
    } else {
        a
    }
}

/// FPATAN, FYL2X, FYL2XP1: ST(1) ← f(ST(1), ST(0)), then pop.
fn binary(f: &mut FpuState, code: Code) {
    if f.is_empty(0) || f.is_empty(1) {
        if underflow(f) {
            f.set_st(1, F80::INDEFINITE);
            f.pop();
        }
        return;
    }
    let (x, y) = (f.st(0), f.st(1));
    let mut ctx = f.ctx();
    let r = match code {
        Code::Fpatan => fpatan(&mut ctx, y, x),
        Code::Fyl2x => fyl2x(&mut ctx, y, x),
        _ => fyl2xp1(&mut ctx, y, x),
    };
    f.commit(&ctx, false);
    if let Some(r) = r {
        f.set_st(1, r);
        f.pop();
    }
}

fn pre2(ctx: &mut Ctx, y: F80, x: F80) -> std::result::Result<(Class, Class), Option<F80>> {
    let (cy, cx) = (y.class(), x.class());
    if cy == Class::Unsupported || cx == Class::Unsupported {
        return Err(ctx.invalid());
    }
    if matches!(cy, Class::QNaN | Class::SNaN) || matches!(cx, Class::QNaN | Class::SNaN) {
        return Err(sf::nan_result(ctx, x, y));
    }
    Ok((cy, cx))
}

fn fpatan(ctx: &mut Ctx, y: F80, x: F80) -> Option<F80> {
    let (cy, cx) = match pre2(ctx, y, x) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !ctx.denormal_ok(&[cy, cx]) {
        return None;
    }
    let c = consts();
    let signed = |ctx: &mut Ctx, q: Q| from_q(ctx, if y.sign() { -q } else { q });
    Some(match (cy, cx) {
        (Class::Zero, _) => {
            if x.sign() {
                signed(ctx, c.pi)
            } else {
                y
            }
        }
        (Class::Inf, Class::Inf) => {
            if x.sign() {
                signed(ctx, mul(c.pi_4, int(3)))
            } else {
                signed(ctx, c.pi_4)
            }
        }
        (Class::Inf, _) | (_, Class::Zero) => signed(ctx, c.pi_2),
        (_, Class::Inf) => {
            if x.sign() {
                signed(ctx, c.pi)
            } else {
                F80::zero(y.sign())
            }
        }
        _ => from_q(ctx, atan2_q(to_q(y), to_q(x))),
    })
}

/// y * log2(x).
fn fyl2x(ctx: &mut Ctx, y: F80, x: F80) -> Option<F80> {
    let (cy, cx) = match pre2(ctx, y, x) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if x.sign() && cx != Class::Zero {
        return ctx.invalid();
    }
    match cx {
        Class::Zero => {
            // log2(0) = -inf
            if cy == Class::Zero {
                return ctx.invalid();
            }
            if !ctx.denormal_ok(&[cy]) {
                return None;
            }
            if cy != Class::Inf && ctx.stop(sf::ZE) {
                return None;
            }
            Some(F80::inf(!y.sign()))
        }
        Class::Inf => {
            if cy == Class::Zero {
                return ctx.invalid();
            }
            if !ctx.denormal_ok(&[cy]) {
                return None;
            }
            Some(F80::inf(y.sign()))
        }
        _ => {
            if x == F80::ONE && cy == Class::Inf {
                return ctx.invalid();
            }
            if !ctx.denormal_ok(&[cy, cx]) {
                return None;
            }
            if x == F80::ONE {
                return Some(F80::zero(y.sign()));
            }
            if x.mant == 1 << 63 {
                // A power of two: log2 is an integer, the product exact
                // or rounded once.
                let (e, _) = unpack(x);
                return sf::mul(ctx, y, sf::from_i64(e as i64));
            }
            let l = log2_q(x);
            scaled(ctx, y, cy, l)
        }
    }
}

/// y * l for a finite nonzero l.
fn scaled(ctx: &mut Ctx, y: F80, cy: Class, l: Q) -> Option<F80> {
    Some(match cy {
        Class::Inf => F80::inf(y.sign() != l.is_negative()),
        Class::Zero => F80::zero(y.sign() != l.is_negative()),
        _ => from_q(ctx, mul(to_q(y), l)),
    })
}

/// y * log2(x + 1).
fn fyl2xp1(ctx: &mut Ctx, y: F80, x: F80) -> Option<F80> {
    let (cy, cx) = match pre2(ctx, y, x) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let k = consts();
    let one = int(1);
    if cx == Class::Inf {
        if x.sign() || cy == Class::Zero {
            return ctx.invalid();
        }
        if !ctx.denormal_ok(&[cy]) {
            return None;
        }
        return Some(F80::inf(y.sign()));
    }
    if cx == Class::Zero {
        if cy == Class::Inf {
            return ctx.invalid();
        }
        if !ctx.denormal_ok(&[cy]) {
            return None;
        }
        return Some(F80::zero(y.sign() != x.sign()));
    }
    let xq = to_q(x);
    if xq <= -one {
        return ctx.invalid();
    }
    if !ctx.denormal_ok(&[cy, cx]) {
        return None;
    }
    let u = div(xq, add(int(2), xq));
    let l = if u.abs() < Q::from_u128(1).value.scalbn(-1) {
        div(two_atanh(u), k.ln2)
    } else {
        // far outside the documented range: log2(1 + x) directly
        let one_plus = add(one, xq);
        let e = one_plus.ilogb();
        let m = one_plus.scalbn(-e);
        add(
            int(e as i64),
            div(two_atanh(div(sub(m, one), add(m, one))), k.ln2),
        )
    };
    scaled(ctx, y, cy, l)
}
