//! Arbitrary-precision decimals as Postgres prints them, and their
//! conversion to the unscaled two's-complement bytes Kafka Connect's
//! `Decimal` logical type (and so Debezium) puts on the wire.

use std::fmt;

use crate::DecodeError;

/// Refuse absurd inputs (e.g. `1e999999999`) instead of allocating for them.
/// Postgres numerics have at most 131072 + 16383 digits.
const MAX_DIGITS: usize = 1 << 18;

/// A Postgres `numeric` (or `money`) value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PgNumeric {
    NaN,
    /// Postgres 14+.
    PosInfinity,
    NegInfinity,
    Finite(Decimal),
}

impl PgNumeric {
    /// Parse Postgres `numeric` output: a decimal, `NaN`, `Infinity` or `-Infinity`.
    pub fn parse(s: &str) -> Result<PgNumeric, DecodeError> {
        match s {
            "NaN" => Ok(PgNumeric::NaN),
            "Infinity" | "+Infinity" => Ok(PgNumeric::PosInfinity),
            "-Infinity" => Ok(PgNumeric::NegInfinity),
            _ => Decimal::parse(s).map(PgNumeric::Finite),
        }
    }
}

impl fmt::Display for PgNumeric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PgNumeric::NaN => f.write_str("NaN"),
            PgNumeric::PosInfinity => f.write_str("Infinity"),
            PgNumeric::NegInfinity => f.write_str("-Infinity"),
            PgNumeric::Finite(d) => fmt::Display::fmt(d, f),
        }
    }
}

/// `(-1)^negative * digits * 10^-scale`, like Java's `BigDecimal` with a
/// non-negative scale.
///
/// Invariants: `digits` are values 0..=9, most significant first, without
/// leading zeros (zero is the empty vector), and zero is never negative.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    negative: bool,
    digits: Vec<u8>,
    scale: u32,
}

fn invalid(offset: usize, reason: &'static str) -> DecodeError {
    DecodeError::InvalidValue {
        offset,
        pg_type: "numeric",
        reason,
    }
}

impl Decimal {
    /// Parse `[+-]digits[.digits][(e|E)[+-]digits]`; at least one digit.
    ///
    /// The scale is the number of fraction digits (minus the exponent),
    /// floored at zero, so `1.50` has scale 2 and `1e5` is `100000` scale 0.
    pub fn parse(s: &str) -> Result<Decimal, DecodeError> {
        let b = s.as_bytes();
        let mut pos = 0;
        let negative = match b.first() {
            Some(b'-') => {
                pos = 1;
                true
            }
            Some(b'+') => {
                pos = 1;
                false
            }
            _ => false,
        };
        let mut digits = Vec::with_capacity(b.len());
        let int_start = pos;
        while let Some(&c) = b.get(pos) {
            if !c.is_ascii_digit() {
                break;
            }
            if !(digits.is_empty() && c == b'0') {
                digits.push(c - b'0');
            }
            pos += 1;
        }
        let mut seen = pos > int_start;
        let mut frac_len: i64 = 0;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            while let Some(&c) = b.get(pos) {
                if !c.is_ascii_digit() {
                    break;
                }
                if !(digits.is_empty() && c == b'0') {
                    digits.push(c - b'0');
                }
                frac_len += 1;
                seen = true;
                pos += 1;
            }
        }
        if !seen {
            return Err(invalid(pos, "expected a digit"));
        }
        let mut exp: i64 = 0;
        if matches!(b.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            let exp_neg = match b.get(pos) {
                Some(b'-') => {
                    pos += 1;
                    true
                }
                Some(b'+') => {
                    pos += 1;
                    false
                }
                _ => false,
            };
            let start = pos;
            while let Some(&c) = b.get(pos) {
                if !c.is_ascii_digit() {
                    break;
                }
                exp = exp.saturating_mul(10).saturating_add(i64::from(c - b'0'));
                pos += 1;
            }
            if pos == start {
                return Err(invalid(pos, "expected exponent digits"));
            }
            if exp_neg {
                exp = -exp;
            }
        }
        if pos != b.len() {
            return Err(invalid(pos, "unexpected character"));
        }
        let mut scale = frac_len.saturating_sub(exp);
        if scale < 0 {
            let zeros = usize::try_from(-scale).unwrap_or(usize::MAX);
            if !digits.is_empty() {
                if zeros.saturating_add(digits.len()) > MAX_DIGITS {
                    return Err(invalid(0, "too many digits"));
                }
                digits.resize(digits.len() + zeros, 0);
            }
            scale = 0;
        }
        let scale = match u32::try_from(scale) {
            Ok(s) if (s as usize) <= MAX_DIGITS => s,
            _ => return Err(invalid(0, "scale out of range")),
        };
        if digits.len() > MAX_DIGITS {
            return Err(invalid(0, "too many digits"));
        }
        Ok(Decimal {
            negative: negative && !digits.is_empty(),
            digits,
            scale,
        })
    }

    /// Number of digits after the decimal point.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    pub fn is_negative(&self) -> bool {
        self.negative
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Minimal big-endian two's complement of the unscaled integer, exactly
    /// like Java's `BigInteger.toByteArray()` (0 → `[0x00]`, -1 → `[0xff]`).
    pub fn to_unscaled_be_bytes(&self) -> Vec<u8> {
        // Little-endian base-2^32 limbs, fed nine decimal digits at a time.
        let mut limbs: Vec<u32> = Vec::with_capacity(self.digits.len() / 9 + 1);
        let head = self.digits.len() % 9;
        let (first, rest) = self.digits.split_at(head);
        let chunks = std::iter::once(first)
            .filter(|c| !c.is_empty())
            .chain(rest.chunks(9));
        for chunk in chunks {
            let mut mul: u64 = 1;
            let mut add: u64 = 0;
            for &d in chunk {
                mul *= 10;
                add = add * 10 + u64::from(d);
            }
            let mut carry = add;
            for limb in limbs.iter_mut() {
                let v = u64::from(*limb) * mul + carry;
                *limb = v as u32;
                carry = v >> 32;
            }
            if carry != 0 {
                limbs.push(carry as u32);
            }
        }
        let mut mag: Vec<u8> = limbs.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        let lead = mag.iter().take_while(|&&b| b == 0).count();
        mag.drain(..lead);
        if mag.is_empty() {
            return vec![0];
        }
        if !self.negative {
            if mag.first().is_some_and(|&b| b & 0x80 != 0) {
                mag.insert(0, 0);
            }
            return mag;
        }
        // Two's complement: invert and add one.
        let mut carry = true;
        for b in mag.iter_mut().rev() {
            *b = !*b;
            if carry {
                let (v, overflow) = b.overflowing_add(1);
                *b = v;
                carry = overflow;
            }
        }
        if mag.first().is_some_and(|&b| b & 0x80 == 0) {
            mag.insert(0, 0xff);
        }
        // Drop sign-extension bytes that add nothing.
        let redundant = mag
            .windows(2)
            .take_while(|w| w.first() == Some(&0xff) && w.get(1).is_some_and(|&b| b & 0x80 != 0))
            .count();
        mag.drain(..redundant);
        mag
    }

    /// The same value with `scale` fraction digits: zero-padded when growing,
    /// rounded half-up (away from zero) when shrinking. Allocates `scale`
    /// digits, so pass schema scales, not input-derived ones.
    pub fn rescale(&self, scale: u32) -> Decimal {
        if scale >= self.scale {
            let mut digits = self.digits.clone();
            if !digits.is_empty() {
                digits.resize(digits.len() + (scale - self.scale) as usize, 0);
            }
            return Decimal {
                negative: self.negative,
                digits,
                scale,
            };
        }
        let drop = (self.scale - scale) as usize;
        let keep = self.digits.len().saturating_sub(drop);
        let round_up = if drop > self.digits.len() {
            false
        } else {
            self.digits.get(keep).is_some_and(|&d| d >= 5)
        };
        let mut digits: Vec<u8> = self.digits.get(..keep).unwrap_or_default().to_vec();
        if round_up {
            let mut carry = true;
            for d in digits.iter_mut().rev() {
                if *d == 9 {
                    *d = 0;
                } else {
                    *d += 1;
                    carry = false;
                    break;
                }
            }
            if carry {
                digits.insert(0, 1);
            }
        }
        let lead = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..lead);
        Decimal {
            negative: self.negative && !digits.is_empty(),
            digits,
            scale,
        }
    }

    /// The same value with as few fraction digits as it needs (never a negative scale), like
    /// Java's `stripTrailingZeros()` followed by `setScale(0)` when the scale went negative:
    /// `1.50` → `1.5`, `100` → `100`, `0.00` → `0`.
    pub fn strip_trailing_zeros(&self) -> Decimal {
        let mut digits = self.digits.clone();
        let mut scale = self.scale;
        while scale > 0 && digits.last() == Some(&0) {
            digits.pop();
            scale -= 1;
        }
        if digits.is_empty() {
            scale = 0;
        }
        Decimal {
            negative: self.negative && !digits.is_empty(),
            digits,
            scale,
        }
    }

    /// Java's `BigDecimal.toString()`: plain notation unless the adjusted exponent is below
    /// -6, then scientific (`1E-7`, `-1.5E-8`, `0E-8`).
    pub fn to_java_string(&self) -> String {
        let coefficient_len = self.digits.len().max(1) as i64;
        let adjusted = coefficient_len - 1 - i64::from(self.scale);
        if self.scale == 0 || adjusted >= -6 {
            return self.to_plain_string();
        }
        let mut s = String::with_capacity(self.digits.len() + 8);
        if self.negative {
            s.push('-');
        }
        match self.digits.split_first() {
            None => s.push('0'),
            Some((first, rest)) => {
                s.push(char::from(b'0' + first));
                if !rest.is_empty() {
                    s.push('.');
                    rest.iter().for_each(|&d| s.push(char::from(b'0' + d)));
                }
            }
        }
        s.push_str(&format!("E{adjusted}"));
        s
    }

    /// Nearest `f64` (correctly rounded by the standard library's parser).
    pub fn to_f64(&self) -> f64 {
        self.to_plain_string().parse::<f64>().unwrap_or(f64::NAN)
    }

    /// No exponent, exactly `scale` fraction digits, like Java's
    /// `BigDecimal.toPlainString()`: `12345678.91`, `-0.000001`, `0.00`.
    pub fn to_plain_string(&self) -> String {
        let scale = self.scale as usize;
        let mut s = String::with_capacity(self.digits.len() + scale + 3);
        if self.negative {
            s.push('-');
        }
        let push =
            |s: &mut String, ds: &[u8]| ds.iter().for_each(|&d| s.push(char::from(b'0' + d)));
        if self.digits.len() > scale {
            let (int, frac) = self.digits.split_at(self.digits.len() - scale);
            push(&mut s, int);
            if scale > 0 {
                s.push('.');
                push(&mut s, frac);
            }
        } else {
            s.push('0');
            if scale > 0 {
                s.push('.');
                for _ in self.digits.len()..scale {
                    s.push('0');
                }
                push(&mut s, &self.digits);
            }
        }
        s
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain_string())
    }
}
