//! The soft-float core against known bit patterns and, for the basic
//! operations, against rustc_apfloat (an independent IEEE implementation):
//! at 64-bit precision with `X87DoubleExtended`, at 53/24 bits with
//! `Double`/`Single` on operands of those formats.

use super::*;
use rustc_apfloat::ieee::{Double, Single, X87DoubleExtended as X87};
use rustc_apfloat::{Float, Round, Status};
use std::ops::Neg;

const RCS: [Rc; 4] = [Rc::Nearest, Rc::Down, Rc::Up, Rc::Zero];

fn ctx(rc: Rc, prec: u32) -> Ctx {
    let pc = match prec {
        24 => 0,
        53 => 2,
        _ => 3,
    };
    let rcb = match rc {
        Rc::Nearest => 0,
        Rc::Down => 1,
        Rc::Up => 2,
        Rc::Zero => 3,
    };
    Ctx::new(0x3F | pc << 8 | rcb << 10)
}

fn ap_round(rc: Rc) -> Round {
    match rc {
        Rc::Nearest => Round::NearestTiesToEven,
        Rc::Down => Round::TowardNegative,
        Rc::Up => Round::TowardPositive,
        Rc::Zero => Round::TowardZero,
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// A finite normal value with an exponent near `center` (± spread),
    /// with significands that stress rounding (runs of ones and zeros).
    fn f80(&mut self, center: i32, spread: i32) -> F80 {
        let r = self.next();
        let mut m = match r % 4 {
            0 => self.next(),
            1 => u64::MAX << (self.next() % 64),
            2 => (1u64 << 63) | (self.next() % 16),
            _ => self.next() | (self.next() & 0xFFFF_FFFF),
        };
        m |= 1 << 63;
        let e = center + (self.next() % (2 * spread as u64 + 1)) as i32 - spread;
        F80::new(r & 0x100 != 0, e.clamp(1, 0x7FFE) as u16, m)
    }
}

fn x87(a: F80) -> X87 {
    X87::from_bits(a.to_bits())
}

type BinOp = fn(&mut Ctx, F80, F80) -> Option<F80>;

fn check_ext(name: &str, ours: BinOp, theirs: fn(X87, X87, Round) -> (X87, Status)) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let centers = [
        (0x3FFF, 70),
        (0x3FFF, 3),
        (0x7FF0, 20),
        (0x10, 20),
        (0x3FFF, 16000),
    ];
    for n in 0..60_000 {
        let (c, s) = centers[n % centers.len()];
        let a = rng.f80(c, s);
        let b = if n % 3 == 0 {
            rng.f80(a.exp() as i32, 2)
        } else {
            rng.f80(0x3FFF + (c - 0x3FFF) / 2, s)
        };
        for rc in RCS {
            let mut cx = ctx(rc, 64);
            let r = ours(&mut cx, a, b).unwrap();
            let (t, st) = theirs(x87(a), x87(b), ap_round(rc));
            let tb = F80::from_bits(t.to_bits());
            assert_eq!(
                r, tb,
                "{name} {a:X?} {b:X?} {rc:?}: ours {r:X?} apfloat {tb:X?}"
            );
            assert_eq!(
                cx.flags & PE != 0,
                st.contains(Status::INEXACT),
                "{name} PE {a:X?} {b:X?} {rc:?}"
            );
            // (apfloat reports no overflow when it rounds to the largest
            // finite number.)
            if tb.exp() == 0x7FFF {
                assert!(cx.flags & OE != 0, "{name} OE {a:X?} {b:X?} {rc:?}");
            }
            if cx.flags & OE != 0 {
                assert!(tb.exp() >= 0x7FFE, "{name} OE {a:X?} {b:X?} {rc:?}");
            }
        }
    }
}

#[test]
fn add_matches_apfloat_at_64_bits() {
    check_ext(
        "add",
        |c, a, b| add(c, a, b, false),
        |a, b, r| {
            let s = a.add_r(b, r);
            (s.value, s.status)
        },
    );
}

#[test]
fn sub_matches_apfloat_at_64_bits() {
    check_ext(
        "sub",
        |c, a, b| add(c, a, b, true),
        |a, b, r| {
            let s = a.sub_r(b, r);
            (s.value, s.status)
        },
    );
}

#[test]
fn mul_matches_apfloat_at_64_bits() {
    check_ext("mul", mul, |a, b, r| {
        let s = a.mul_r(b, r);
        (s.value, s.status)
    });
}

#[test]
fn div_matches_apfloat_at_64_bits() {
    check_ext("div", div, |a, b, r| {
        let s = a.div_r(b, r);
        (s.value, s.status)
    });
}

/// At PC=53 and PC=24, operations on double/single operands whose results
/// are normal in that format round exactly as IEEE double/single do.
#[test]
fn reduced_precision_matches_ieee_formats() {
    let mut rng = Rng(12345);
    for n in 0..40_000 {
        let da = f64::from_bits(rng.next() >> 2 | 0x3000_0000_0000_0000);
        let db = f64::from_bits(rng.next() >> 2 | 0x3000_0000_0000_0000);
        let (da, db) = if n % 2 == 0 { (da, db) } else { (da, -db) };
        let sa = da as f32;
        let sb = db as f32;
        for rc in RCS {
            for op in 0..4 {
                // double
                let mut c = ctx(rc, 53);
                let a = from_ieee(&mut c, da.to_bits(), DOUBLE).unwrap();
                let b = from_ieee(&mut c, db.to_bits(), DOUBLE).unwrap();
                let (qa, qb) = (
                    Double::from_bits(da.to_bits() as u128),
                    Double::from_bits(db.to_bits() as u128),
                );
                let r = ap_round(rc);
                let (ours, theirs) = match op {
                    0 => (add(&mut c, a, b, false), qa.add_r(qb, r)),
                    1 => (add(&mut c, a, b, true), qa.sub_r(qb, r)),
                    2 => (mul(&mut c, a, b), qa.mul_r(qb, r)),
                    _ => (div(&mut c, a, b), qa.div_r(qb, r)),
                };
                let t = theirs.value;
                if t.is_normal() && !t.is_largest() {
                    let mut c2 = ctx(rc, 64);
                    let want = from_ieee(&mut c2, t.to_bits() as u64, DOUBLE).unwrap();
                    assert_eq!(ours.unwrap(), want, "pc53 op{op} {da} {db} {rc:?}");
                    assert_eq!(c.flags & PE != 0, theirs.status.contains(Status::INEXACT));
                }
                // single
                let mut c = ctx(rc, 24);
                let a = from_ieee(&mut c, sa.to_bits() as u64, SINGLE).unwrap();
                let b = from_ieee(&mut c, sb.to_bits() as u64, SINGLE).unwrap();
                let (qa, qb) = (
                    Single::from_bits(sa.to_bits() as u128),
                    Single::from_bits(sb.to_bits() as u128),
                );
                let (ours, theirs) = match op {
                    0 => (add(&mut c, a, b, false), qa.add_r(qb, r)),
                    1 => (add(&mut c, a, b, true), qa.sub_r(qb, r)),
                    2 => (mul(&mut c, a, b), qa.mul_r(qb, r)),
                    _ => (div(&mut c, a, b), qa.div_r(qb, r)),
                };
                let t = theirs.value;
                if t.is_normal() && !t.is_largest() {
                    let mut c2 = ctx(rc, 64);
                    let want = from_ieee(&mut c2, t.to_bits() as u64, SINGLE).unwrap();
                    assert_eq!(ours.unwrap(), want, "pc24 op{op} {sa} {sb} {rc:?}");
                }
            }
        }
    }
}

#[test]
fn sqrt_matches_host_at_53_and_24_bits() {
    let mut rng = Rng(777);
    for _ in 0..50_000 {
        let d = f64::from_bits(rng.next() >> 2 | 0x1000_0000_0000_0000);
        let mut c = ctx(Rc::Nearest, 53);
        let a = from_ieee(&mut c, d.to_bits(), DOUBLE).unwrap();
        let r = sqrt(&mut c, a).unwrap();
        let mut c2 = ctx(Rc::Nearest, 64);
        let want = from_ieee(&mut c2, d.sqrt().to_bits(), DOUBLE).unwrap();
        assert_eq!(r, want, "sqrt {d}");
        let s = d as f32;
        if s.is_normal() {
            let mut c = ctx(Rc::Nearest, 24);
            let a = from_ieee(&mut c, s.to_bits() as u64, SINGLE).unwrap();
            let r = sqrt(&mut c, a).unwrap();
            let want = from_ieee(&mut c2, s.sqrt().to_bits() as u64, SINGLE).unwrap();
            assert_eq!(r, want, "sqrtf {s}");
        }
    }
}

/// sqrt at 64 bits: the result r satisfies r^2 <= a < (r+ulp)^2 (RD), and
/// RN/RU/RZ are consistent with it; perfect squares are exact.
#[test]
fn sqrt_64_bits_brackets() {
    let mut rng = Rng(4242);
    for n in 0..20_000 {
        let a = rng.f80(0x3FFF, 200).abs();
        let a = if n % 5 == 0 {
            // a perfect square: (m)^2 with m < 2^32
            let m = (rng.next() >> 33) | 1;
            from_i64((m as i64) * (m as i64))
        } else {
            a
        };
        let mut cd = ctx(Rc::Down, 64);
        let rd = sqrt(&mut cd, a).unwrap();
        // rd^2 <= a exactly, checked in RU: (rd*rd rounded up) may equal a
        let mut cm = ctx(Rc::Down, 64);
        let sq = mul(&mut cm, rd, rd).unwrap();
        assert!(compare(&mut cm, sq, a, true) != Some(Cmp::Greater));
        let next = F80 {
            mant: rd.mant.wrapping_add(1),
            ..rd
        };
        if rd.mant != u64::MAX {
            let mut cm = ctx(Rc::Up, 64);
            let sq = mul(&mut cm, next, next).unwrap();
            assert_eq!(compare(&mut cm, sq, a, true), Some(Cmp::Greater), "{a:X?}");
        }
        let mut cu = ctx(Rc::Up, 64);
        let ru = sqrt(&mut cu, a).unwrap();
        let exact = cd.flags & PE == 0;
        if exact {
            assert_eq!(ru, rd);
        } else {
            assert_eq!(ru.mant, rd.mant.wrapping_add(1).max(1 << 63));
        }
        if n % 5 == 0 {
            assert!(exact, "perfect square {a:X?}");
        }
        let mut cz = ctx(Rc::Zero, 64);
        assert_eq!(sqrt(&mut cz, a).unwrap(), rd);
    }
}

fn third(rc: Rc, prec: u32) -> (F80, Ctx) {
    let mut c = ctx(rc, prec);
    let r = div(&mut c, F80::ONE, from_i64(3)).unwrap();
    (r, c)
}

#[test]
fn one_third_in_every_mode_and_precision() {
    let cases: [(Rc, u32, u64); 12] = [
        (Rc::Nearest, 64, 0xAAAA_AAAA_AAAA_AAAB),
        (Rc::Down, 64, 0xAAAA_AAAA_AAAA_AAAA),
        (Rc::Up, 64, 0xAAAA_AAAA_AAAA_AAAB),
        (Rc::Zero, 64, 0xAAAA_AAAA_AAAA_AAAA),
        (Rc::Nearest, 53, 0xAAAA_AAAA_AAAA_A800),
        (Rc::Down, 53, 0xAAAA_AAAA_AAAA_A800),
        (Rc::Up, 53, 0xAAAA_AAAA_AAAA_B000),
        (Rc::Zero, 53, 0xAAAA_AAAA_AAAA_A800),
        (Rc::Nearest, 24, 0xAAAA_AB00_0000_0000),
        (Rc::Down, 24, 0xAAAA_AA00_0000_0000),
        (Rc::Up, 24, 0xAAAA_AB00_0000_0000),
        (Rc::Zero, 24, 0xAAAA_AA00_0000_0000),
    ];
    for (rc, p, mant) in cases {
        let (r, c) = third(rc, p);
        assert_eq!(r, F80 { se: 0x3FFD, mant }, "{rc:?} {p}");
        assert_eq!(c.flags, PE);
        let up = match p {
            64 => mant & 1 == 1,
            53 => mant & 0x800 == 0,
            _ => mant >> 40 & 1 == 1,
        };
        assert_eq!(c.up, up, "C1 {rc:?} {p}");
    }
}

#[test]
fn sqrt2_in_every_mode() {
    let two = from_i64(2);
    for (rc, mant, up) in [
        (Rc::Nearest, 0xB504_F333_F9DE_6484, false),
        (Rc::Down, 0xB504_F333_F9DE_6484, false),
        (Rc::Up, 0xB504_F333_F9DE_6485, true),
        (Rc::Zero, 0xB504_F333_F9DE_6484, false),
    ] {
        let mut c = ctx(rc, 64);
        assert_eq!(sqrt(&mut c, two).unwrap(), F80 { se: 0x3FFF, mant });
        assert_eq!(c.flags, PE);
        assert_eq!(c.up, up);
    }
    // PC=53: the double sqrt(2) = 0x3FF6A09E667F3BCD
    let mut c = ctx(Rc::Nearest, 53);
    let r = sqrt(&mut c, two).unwrap();
    assert_eq!(r.mant, (1 << 63) | (0x6A09E667F3BCD << 11));
}

#[test]
fn integer_conversions() {
    for v in [
        0i64,
        1,
        -1,
        3,
        -32768,
        32767,
        i32::MIN as i64,
        i64::MIN,
        i64::MAX,
        123456789,
    ] {
        let f = from_i64(v);
        let mut c = ctx(Rc::Nearest, 64);
        assert_eq!(to_int(&mut c, f, 64, Rc::Nearest), Some(v));
        assert_eq!(c.flags, 0);
    }
    assert_eq!(from_i64(1), F80::ONE);
    assert_eq!(
        from_i64(-2),
        F80 {
            se: 0xC000,
            mant: 1 << 63
        }
    );
    // 2.5 and -2.5 in each mode
    let mut c = ctx(Rc::Nearest, 64);
    let h = div(&mut c, from_i64(5), from_i64(2)).unwrap();
    for (rc, pos, neg) in [
        (Rc::Nearest, 2, -2),
        (Rc::Down, 2, -3),
        (Rc::Up, 3, -2),
        (Rc::Zero, 2, -2),
    ] {
        let mut c = ctx(rc, 64);
        assert_eq!(to_int(&mut c, h, 16, rc), Some(pos));
        assert_eq!(c.flags, PE);
        assert_eq!(to_int(&mut c, h.neg(), 16, rc), Some(neg));
    }
    // out of range: IE, integer indefinite
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        to_int(&mut c, from_i64(32768), 16, Rc::Nearest),
        Some(-32768)
    );
    assert_eq!(c.flags, IE);
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        to_int(&mut c, from_i64(-32768), 16, Rc::Nearest),
        Some(-32768)
    );
    assert_eq!(c.flags, 0);
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        to_int(&mut c, F80::INDEFINITE, 32, Rc::Nearest),
        Some(i32::MIN as i64)
    );
    assert_eq!(c.flags, IE);
    // 0.5 rounds to even (0), 1.5 to 2, -0.5 to -0
    let mut c = ctx(Rc::Nearest, 64);
    let half = div(&mut c, F80::ONE, from_i64(2)).unwrap();
    assert_eq!(to_int(&mut c, half, 32, Rc::Nearest), Some(0));
    assert_eq!(round_to_int(&mut c, half.neg()).unwrap(), F80::zero(true));
}

#[test]
fn float_conversions() {
    let mut c = ctx(Rc::Nearest, 64);
    for d in [
        1.0f64,
        -0.1,
        3.5e300,
        -2.2250738585072014e-308,
        f64::INFINITY,
        0.0,
        -0.0,
    ] {
        let f = from_ieee(&mut c, d.to_bits(), DOUBLE).unwrap();
        assert_eq!(to_ieee(&mut c, f, DOUBLE), Some(d.to_bits()), "{d}");
    }
    // a double denormal widens exactly (DE) and narrows back (no UE: exact)
    let mut c = ctx(Rc::Nearest, 64);
    let den = f64::from_bits(0x0000_0000_0000_0003);
    let f = from_ieee(&mut c, den.to_bits(), DOUBLE).unwrap();
    assert_eq!(c.flags, DE);
    assert_eq!(f.exp(), (16383 - 1074 + 1) as u16);
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(to_ieee(&mut c, f, DOUBLE), Some(3));
    assert_eq!(c.flags, 0);
    // 1/3 to single in each mode
    for (rc, bits) in [
        (Rc::Nearest, 0x3EAA_AAAB),
        (Rc::Down, 0x3EAA_AAAA),
        (Rc::Up, 0x3EAA_AAAB),
        (Rc::Zero, 0x3EAA_AAAA),
    ] {
        let (t, _) = third(Rc::Nearest, 64);
        let mut c = ctx(rc, 64);
        assert_eq!(to_ieee(&mut c, t, SINGLE), Some(bits));
        assert_eq!(c.flags, PE);
    }
    // overflow to single: masked → inf (RN) or max (RZ)
    let big = from_i64(1 << 62);
    let big = mul(&mut c, big, big).unwrap();
    let big = mul(&mut c, big, big).unwrap(); // 2^248
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(to_ieee(&mut c, big, SINGLE), Some(0x7F80_0000));
    assert_eq!(c.flags, OE | PE);
    let mut c = ctx(Rc::Zero, 64);
    assert_eq!(to_ieee(&mut c, big, SINGLE), Some(0x7F7F_FFFF));
    // unmasked overflow: nothing stored
    let mut c = Ctx::new(0x037F & !(OE as u16));
    assert_eq!(to_ieee(&mut c, big, SINGLE), None);
    assert_eq!(c.flags, OE);
    // SNaN: IE and quieted; NaN payload truncated
    let snan = F80::new(false, 0x7FFF, 0x8000_0000_0000_0001 | 0x1234 << 40);
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(to_ieee(&mut c, snan, SINGLE), Some(0x7FC0_1234));
    assert_eq!(c.flags, IE);
    let mut c = ctx(Rc::Nearest, 64);
    let l = from_ieee(&mut c, 0x7F80_0001, SINGLE).unwrap();
    assert_eq!(c.flags, IE);
    assert_eq!(l, F80::new(false, 0x7FFF, 0xC000_0100_0000_0000));
}

#[test]
fn bcd() {
    let b = [0x89, 0x67, 0x45, 0x23, 0x01, 0, 0, 0, 0x99, 0x80];
    let f = from_bcd(&b);
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        to_int(&mut c, f, 64, Rc::Nearest),
        Some(-990_000_000_123_456_789)
    );
    assert_eq!(to_bcd(&mut c, f), Some(b));
    assert_eq!(c.flags, 0);
    let mut c = ctx(Rc::Nearest, 64);
    let too_big = from_i64(1_000_000_000_000_000_000);
    assert_eq!(
        to_bcd(&mut c, too_big),
        Some([0, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0xFF])
    );
    assert_eq!(c.flags, IE);
    assert_eq!(
        from_bcd(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80]),
        F80::zero(true)
    );
}

#[test]
fn denormals_and_underflow() {
    // smallest normal / 2 = a denormal, exact: no UE when masked
    let min = F80::new(false, 1, 1 << 63);
    let mut c = ctx(Rc::Nearest, 64);
    let h = div(&mut c, min, from_i64(2)).unwrap();
    assert_eq!(h, F80::new(false, 0, 1 << 62));
    assert_eq!(c.flags, 0);
    // /3: tiny and inexact: UE+PE
    let mut c = ctx(Rc::Nearest, 64);
    let t = div(&mut c, min, from_i64(3)).unwrap();
    assert_eq!(t.exp(), 0);
    assert_eq!(c.flags, UE | PE);
    // denormal operand: DE
    let mut c = ctx(Rc::Nearest, 64);
    let s = add(&mut c, h, h, false).unwrap();
    assert_eq!(s, min);
    assert_eq!(c.flags, DE);
    // unmasked UE: result bias-adjusted by 2^24576
    let mut c = Ctx::new(0x037F & !(UE as u16));
    let t = div(&mut c, min, from_i64(4)).unwrap();
    assert_eq!(t, F80::new(false, (1 - 2 + 24576) as u16, 1 << 63));
    assert_eq!(c.flags, UE);
    // unmasked DE: no result
    let mut c = Ctx::new(0x037F & !(DE as u16));
    assert_eq!(add(&mut c, h, F80::ONE, false), None);
    // PC=24 denormal result rounds at the 24-bit boundary of the 64-bit field
    let mut c = ctx(Rc::Nearest, 24);
    let x = F80::new(false, 1, 0xFFFF_FF80_0000_0000);
    let r = mul(&mut c, x, F80::new(false, 0x3FFE, 1 << 63)).unwrap(); // x/2
    assert_eq!(r, F80::new(false, 1, 1 << 63)); // rounds up to min normal
    assert_eq!(c.flags, PE); // not tiny after rounding
}

#[test]
fn overflow_and_specials() {
    let max = F80::new(false, 0x7FFE, u64::MAX);
    for (rc, want) in [
        (Rc::Nearest, F80::INF),
        (Rc::Up, F80::INF),
        (Rc::Down, max),
        (Rc::Zero, max),
    ] {
        let mut c = ctx(rc, 64);
        assert_eq!(mul(&mut c, max, from_i64(2)).unwrap(), want, "{rc:?}");
        assert_eq!(c.flags, OE | PE);
    }
    // PC=24 overflow with RZ gives the largest 24-bit value
    let mut c = ctx(Rc::Zero, 24);
    assert_eq!(
        mul(&mut c, max, from_i64(2)).unwrap(),
        F80::new(false, 0x7FFE, 0xFFFF_FF00_0000_0000)
    );
    // unmasked OE: bias-adjusted
    let mut c = Ctx::new(0x037F & !(OE as u16));
    let r = mul(&mut c, F80::new(false, 0x7FFE, 1 << 63), from_i64(4)).unwrap();
    assert_eq!(r, F80::new(false, 0x7FFE + 2 - 24576, 1 << 63));
    let mut c = ctx(Rc::Nearest, 64);
    // inf - inf, 0 * inf, 0/0: indefinite
    assert_eq!(add(&mut c, F80::INF, F80::INF, true), Some(F80::INDEFINITE));
    assert_eq!(mul(&mut c, F80::ZERO, F80::INF), Some(F80::INDEFINITE));
    assert_eq!(div(&mut c, F80::ZERO, F80::ZERO), Some(F80::INDEFINITE));
    assert_eq!(c.flags, IE);
    // x/0: ZE, signed infinity
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(div(&mut c, F80::ONE.neg(), F80::ZERO), Some(F80::inf(true)));
    assert_eq!(c.flags, ZE);
    // sqrt(-1): IE; sqrt(-0) = -0
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(sqrt(&mut c, F80::ONE.neg()), Some(F80::INDEFINITE));
    assert_eq!(sqrt(&mut c, F80::zero(true)), Some(F80::zero(true)));
    // unsupported (unnormal) operand: IE
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        add(&mut c, F80::new(false, 0x3FFF, 1), F80::ONE, false),
        Some(F80::INDEFINITE)
    );
    assert_eq!(c.flags, IE);
    // x - x = +0, -0 in RD
    let mut c = ctx(Rc::Down, 64);
    assert_eq!(add(&mut c, F80::ONE, F80::ONE, true), Some(F80::zero(true)));
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        add(&mut c, F80::ONE, F80::ONE, true),
        Some(F80::zero(false))
    );
}

#[test]
fn nan_propagation() {
    let q1 = F80::new(false, 0x7FFF, 0xC000_0000_0000_0001);
    let q2 = F80::new(true, 0x7FFF, 0xC000_0000_0000_0002);
    let s3 = F80::new(false, 0x7FFF, 0x8000_0000_0000_0003);
    let mut c = ctx(Rc::Nearest, 64);
    // larger significand wins
    assert_eq!(add(&mut c, q1, q2, false), Some(q2));
    assert_eq!(c.flags, 0);
    // QNaN preferred over SNaN; IE raised
    assert_eq!(mul(&mut c, s3, q1), Some(q1));
    assert_eq!(c.flags, IE);
    // SNaN with a number: quieted
    assert_eq!(div(&mut c, F80::ONE, s3), Some(s3.quiet()));
    // FSUB does not flip a NaN's sign
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(add(&mut c, F80::ONE, q1, true), Some(q1));
    // compare: FUCOM quiet on QNaN, FCOM raises IE
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(compare(&mut c, q1, F80::ONE, true), Some(Cmp::Unordered));
    assert_eq!(c.flags, 0);
    assert_eq!(compare(&mut c, q1, F80::ONE, false), Some(Cmp::Unordered));
    assert_eq!(c.flags, IE);
}

#[test]
fn remainder() {
    let mut c = ctx(Rc::Nearest, 64);
    // 7 rem 2 = 1, q = 3; FPREM1: 7/2 = 3.5 → 4, r = -1
    let (r, partial, q) = rem(&mut c, from_i64(7), from_i64(2), false);
    assert_eq!((r, partial, q), (Some(F80::ONE), false, 3));
    let (r, _, q) = rem(&mut c, from_i64(7), from_i64(2), true);
    assert_eq!((r, q), (Some(F80::ONE.neg()), 4));
    // -7 rem 2 = -1
    let (r, _, _) = rem(&mut c, from_i64(-7), from_i64(2), false);
    assert_eq!(r, Some(F80::ONE.neg()));
    // 1 rem 3 = 1; FPREM1(2, 3) = -1 (2/3 rounds to 1)
    assert_eq!(rem(&mut c, F80::ONE, from_i64(3), false).0, Some(F80::ONE));
    assert_eq!(
        rem(&mut c, from_i64(2), from_i64(3), true),
        (Some(F80::ONE.neg()), false, 1)
    );
    // huge exponent difference: partial (C2)
    let big = F80::new(false, 0x3FFF + 200, 0xC000_0000_0000_0001);
    let (r, partial, _) = rem(&mut c, big, from_i64(3), false);
    assert!(partial);
    // finish the reduction and check against apfloat's fmod
    let mut v = r.unwrap();
    loop {
        let (r, partial, _) = rem(&mut c, v, from_i64(3), false);
        v = r.unwrap();
        if !partial {
            break;
        }
    }
    let want = x87(big).c_fmod(x87(from_i64(3))).value;
    assert_eq!(v, F80::from_bits(want.to_bits()));
    assert_eq!(c.flags & PE, 0);
    // random exact checks against fmod / ieee_rem
    let mut rng = Rng(99);
    for _ in 0..20_000 {
        let a = rng.f80(0x3FFF + 30, 30);
        let b = rng.f80(0x3FFF, 30);
        let mut c = ctx(Rc::Nearest, 64);
        let (r, partial, _) = rem(&mut c, a, b, false);
        if !partial {
            let want = x87(a).c_fmod(x87(b)).value;
            assert_eq!(r.unwrap(), F80::from_bits(want.to_bits()), "{a:X?} {b:X?}");
            let (r1, _, _) = rem(&mut c, a, b, true);
            let want = x87(a).ieee_rem(x87(b)).value;
            assert_eq!(
                r1.unwrap(),
                F80::from_bits(want.to_bits()),
                "rem1 {a:X?} {b:X?}"
            );
        }
    }
}

#[test]
fn scale_xtract_rndint() {
    let mut c = ctx(Rc::Nearest, 64);
    let r = scale(
        &mut c,
        from_i64(3),
        F80::new(false, 0x4000, 0xB000_0000_0000_0000),
    )
    .unwrap(); // 2.75 → 2
    assert_eq!(r, from_i64(12));
    let (e, s) = xtract(&mut c, from_i64(-12)).unwrap();
    assert_eq!(e, from_i64(3));
    assert_eq!(s, F80::new(true, 0x3FFF, 0xC000_0000_0000_0000));
    let mut c = ctx(Rc::Nearest, 64);
    assert_eq!(
        xtract(&mut c, F80::zero(true)),
        Some((F80::inf(true), F80::zero(true)))
    );
    assert_eq!(c.flags, ZE);
    for (rc, want) in [(Rc::Nearest, 2), (Rc::Down, 2), (Rc::Up, 3), (Rc::Zero, 2)] {
        let mut c = ctx(rc, 64);
        let v = F80::new(false, 0x4000, 0x9000_0000_0000_0000); // 2.25
        assert_eq!(round_to_int(&mut c, v), Some(from_i64(want)));
        assert_eq!(c.flags, PE);
    }
}
