//! Date, time, timestamp and interval output of a session with
//! `DateStyle=ISO, MDY`, `IntervalStyle=postgres`, `TimeZone=UTC`.

use super::{PgDate, PgTimestamp, PgValue};
use crate::DecodeError;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Bounds-checked cursor over one text value; errors name the Postgres type.
pub(super) struct Scan<'a> {
    s: &'a [u8],
    pub(super) pos: usize,
    ty: &'static str,
}

impl<'a> Scan<'a> {
    pub(super) fn new(s: &'a [u8], ty: &'static str) -> Self {
        Scan { s, pos: 0, ty }
    }

    pub(super) fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError::InvalidValue {
            offset: self.pos,
            pg_type: self.ty,
            reason,
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.pos + ahead).copied()
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.s.len()
    }

    pub(super) fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn eat_str(&mut self, lit: &[u8]) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), DecodeError> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.err(reason))
        }
    }

    pub(super) fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    /// 1..=`max` ASCII digits as a number.
    pub(super) fn digits(&mut self, max: usize) -> Result<i64, DecodeError> {
        let start = self.pos;
        let mut v: i64 = 0;
        while let Some(c) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start == max {
                return Err(self.err("too many digits"));
            }
            v = v * 10 + i64::from(c - b'0');
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.err("expected a digit"));
        }
        Ok(v)
    }

    pub(super) fn end(&self) -> Result<(), DecodeError> {
        if self.done() {
            Ok(())
        } else {
            Err(self.err("unexpected trailing characters"))
        }
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian `year-month-day`
/// (astronomical years: 1 BC is year 0).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.rem_euclid(4) == 0
            && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0) =>
        {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// `YYYY-MM-DD` without the era; returns (year as printed, month, day).
fn ymd(sc: &mut Scan<'_>) -> Result<(i64, i64, i64), DecodeError> {
    let year = sc.digits(9)?;
    sc.expect(b'-', "expected '-' after the year")?;
    let month = sc.digits(2)?;
    if !(1..=12).contains(&month) {
        return Err(sc.err("month out of range"));
    }
    sc.expect(b'-', "expected '-' after the month")?;
    let day = sc.digits(2)?;
    if day < 1 || day > days_in_month(year, month) {
        // Leap years are checked again after the era is known.
        if !(month == 2 && day == 29) {
            return Err(sc.err("day out of range"));
        }
    }
    Ok((year, month, day))
}

/// Apply an optional trailing ` BC` and return days since the epoch.
fn finish_date(sc: &mut Scan<'_>, (year, month, day): (i64, i64, i64)) -> Result<i64, DecodeError> {
    let year = if sc.eat_str(b" BC") {
        if year == 0 {
            return Err(sc.err("year 0 BC does not exist"));
        }
        1 - year
    } else {
        year
    };
    if day > days_in_month(year, month) {
        return Err(sc.err("day out of range"));
    }
    Ok(days_from_civil(year, month, day))
}

/// `HH:MM[:SS[.ffffff]]`; `24:00:00` is allowed. Fractions past six digits
/// are rounded half-up.
fn time_of_day(sc: &mut Scan<'_>) -> Result<i64, DecodeError> {
    let h = sc.digits(2)?;
    sc.expect(b':', "expected ':' after the hour")?;
    let m = sc.digits(2)?;
    let s = if sc.eat(b':') { sc.digits(2)? } else { 0 };
    let frac = fraction(sc)?;
    if h > 24 || m > 59 || s > 60 || (h == 24 && (m > 0 || s > 0 || frac > 0)) {
        return Err(sc.err("time out of range"));
    }
    Ok(((h * 60 + m) * 60 + s) * MICROS_PER_SECOND + frac)
}

/// Optional `.digits` as microseconds.
fn fraction(sc: &mut Scan<'_>) -> Result<i64, DecodeError> {
    if !sc.eat(b'.') {
        return Ok(0);
    }
    let mut micros = 0i64;
    let mut n = 0;
    let mut round = false;
    while let Some(c) = sc.peek().filter(u8::is_ascii_digit) {
        if n < 6 {
            micros = micros * 10 + i64::from(c - b'0');
        } else if n == 6 {
            round = c >= b'5';
        }
        n += 1;
        sc.pos += 1;
    }
    if n == 0 {
        return Err(sc.err("expected fraction digits"));
    }
    for _ in n..6 {
        micros *= 10;
    }
    Ok(micros + i64::from(round))
}

/// `[+-]HH[[:]MM[[:]SS]]` or `Z`, as seconds east of UTC.
fn utc_offset(sc: &mut Scan<'_>) -> Result<i32, DecodeError> {
    if sc.eat(b'Z') {
        return Ok(0);
    }
    let negative = match sc.peek() {
        Some(b'+') => false,
        Some(b'-') => true,
        _ => return Err(sc.err("expected a utc offset")),
    };
    sc.pos += 1;
    let h = sc.digits(2)?;
    let mut m = 0;
    let mut s = 0;
    if sc.eat(b':') || sc.peek().is_some_and(|c| c.is_ascii_digit()) {
        m = sc.digits(2)?;
        if sc.eat(b':') || sc.peek().is_some_and(|c| c.is_ascii_digit()) {
            s = sc.digits(2)?;
        }
    }
    if h > 15 || m > 59 || s > 59 {
        return Err(sc.err("utc offset out of range"));
    }
    let secs = (h * 3600 + m * 60 + s) as i32;
    Ok(if negative { -secs } else { secs })
}

pub(super) fn date(text: &[u8]) -> Result<PgValue, DecodeError> {
    match text {
        b"infinity" => return Ok(PgValue::Date(PgDate::PosInfinity)),
        b"-infinity" => return Ok(PgValue::Date(PgDate::NegInfinity)),
        _ => {}
    }
    let mut sc = Scan::new(text, "date");
    let parts = ymd(&mut sc)?;
    let days = finish_date(&mut sc, parts)?;
    sc.end()?;
    i32::try_from(days)
        .map(|d| PgValue::Date(PgDate::Days(d)))
        .map_err(|_| sc.err("date out of range for 32-bit days since 1970-01-01"))
}

pub(super) fn time(text: &[u8]) -> Result<PgValue, DecodeError> {
    let mut sc = Scan::new(text, "time");
    let micros = time_of_day(&mut sc)?;
    sc.end()?;
    Ok(PgValue::Time(micros))
}

pub(super) fn timetz(text: &[u8]) -> Result<PgValue, DecodeError> {
    let mut sc = Scan::new(text, "timetz");
    let micros = time_of_day(&mut sc)?;
    let offset_seconds = utc_offset(&mut sc)?;
    sc.end()?;
    Ok(PgValue::TimeTz {
        micros,
        offset_seconds,
    })
}

/// `timestamp` (`with_tz == false`) or `timestamptz`:
/// `YYYY-MM-DD HH:MM:SS[.ffffff][offset][ BC]`.
pub(super) fn timestamp(text: &[u8], with_tz: bool) -> Result<PgValue, DecodeError> {
    let wrap = |t| {
        if with_tz {
            PgValue::TimestampTz(t)
        } else {
            PgValue::Timestamp(t)
        }
    };
    match text {
        b"infinity" => return Ok(wrap(PgTimestamp::PosInfinity)),
        b"-infinity" => return Ok(wrap(PgTimestamp::NegInfinity)),
        _ => {}
    }
    let mut sc = Scan::new(text, if with_tz { "timestamptz" } else { "timestamp" });
    let parts = ymd(&mut sc)?;
    let mut micros = 0;
    if sc.eat(b' ') || sc.eat(b'T') {
        micros = time_of_day(&mut sc)?;
    }
    let mut offset = 0;
    if with_tz && matches!(sc.peek(), Some(b'+' | b'-' | b'Z')) {
        offset = utc_offset(&mut sc)?;
    }
    let days = finish_date(&mut sc, parts)?;
    sc.end()?;
    days.checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(micros))
        .and_then(|t| t.checked_sub(i64::from(offset) * MICROS_PER_SECOND))
        .map(|t| wrap(PgTimestamp::Micros(t)))
        .ok_or_else(|| sc.err("timestamp out of range"))
}

/// `IntervalStyle=postgres` (`1 year 2 mons -3 days +04:05:06.5`), plus the
/// `postgres_verbose` form (`@ 1 year 2 mons 4 hours 5 mins 6.5 secs ago`)
/// and Postgres 17's `infinity` / `-infinity`, which map to the extremes
/// Postgres itself stores (all fields `MAX` / `MIN`).
pub(super) fn interval(text: &[u8]) -> Result<PgValue, DecodeError> {
    match text {
        b"infinity" => {
            return Ok(PgValue::Interval {
                months: i32::MAX,
                days: i32::MAX,
                micros: i64::MAX,
            })
        }
        b"-infinity" => {
            return Ok(PgValue::Interval {
                months: i32::MIN,
                days: i32::MIN,
                micros: i64::MIN,
            })
        }
        _ => {}
    }
    let mut sc = Scan::new(text, "interval");
    let mut months: i64 = 0;
    let mut days: i64 = 0;
    let mut micros: i64 = 0;
    let mut ago = false;
    let overflow = |sc: &Scan<'_>| sc.err("interval out of range");
    sc.skip_ws();
    sc.eat(b'@');
    sc.skip_ws();
    if sc.done() {
        return Err(sc.err("empty interval"));
    }
    while !sc.done() {
        let negative = sc.eat(b'-');
        if !negative {
            sc.eat(b'+');
        }
        let start = sc.pos;
        let whole = sc.digits(18)?;
        if sc.peek() == Some(b':') {
            // [-]H+:MM[:SS[.ffffff]]: hours are unbounded here.
            sc.pos += 1;
            let m = sc.digits(2)?;
            let s = if sc.eat(b':') { sc.digits(2)? } else { 0 };
            let frac = fraction(&mut sc)?;
            if m > 59 || s > 59 {
                return Err(sc.err("time out of range"));
            }
            let t = whole
                .checked_mul(3600 * MICROS_PER_SECOND)
                .and_then(|h| h.checked_add((m * 60 + s) * MICROS_PER_SECOND + frac))
                .ok_or_else(|| overflow(&sc))?;
            let t = if negative { -t } else { t };
            micros = micros.checked_add(t).ok_or_else(|| overflow(&sc))?;
        } else {
            let frac = fraction(&mut sc)?;
            sc.skip_ws();
            let unit_start = sc.pos;
            while sc.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                sc.pos += 1;
            }
            let unit = text.get(unit_start..sc.pos).unwrap_or_default();
            let sign = if negative { -1 } else { 1 };
            let n = whole * sign;
            let add = |acc: i64, v: Option<i64>| v.and_then(|v| acc.checked_add(v));
            let is_seconds = matches!(unit, b"sec" | b"secs" | b"second" | b"seconds");
            if frac != 0 && !is_seconds {
                sc.pos = start;
                return Err(sc.err("fractional count is only supported for seconds"));
            }
            let r = match unit {
                b"year" | b"years" => add(months, n.checked_mul(12)).map(|v| months = v),
                b"mon" | b"mons" | b"month" | b"months" => add(months, Some(n)).map(|v| months = v),
                b"week" | b"weeks" => add(days, n.checked_mul(7)).map(|v| days = v),
                b"day" | b"days" => add(days, Some(n)).map(|v| days = v),
                b"hour" | b"hours" => {
                    add(micros, n.checked_mul(3600 * MICROS_PER_SECOND)).map(|v| micros = v)
                }
                b"min" | b"mins" | b"minute" | b"minutes" => {
                    add(micros, n.checked_mul(60 * MICROS_PER_SECOND)).map(|v| micros = v)
                }
                _ if is_seconds => add(
                    micros,
                    n.checked_mul(MICROS_PER_SECOND)
                        .and_then(|v| v.checked_add(frac * sign)),
                )
                .map(|v| micros = v),
                _ => {
                    sc.pos = unit_start;
                    return Err(sc.err("unknown interval unit"));
                }
            };
            if r.is_none() {
                return Err(overflow(&sc));
            }
        }
        sc.skip_ws();
        if sc.eat_str(b"ago") {
            ago = true;
            sc.skip_ws();
            sc.end()?;
        }
    }
    if ago {
        months = -months;
        days = -days;
        micros = micros.checked_neg().ok_or_else(|| overflow(&sc))?;
    }
    Ok(PgValue::Interval {
        months: i32::try_from(months).map_err(|_| overflow(&sc))?,
        days: i32::try_from(days).map_err(|_| overflow(&sc))?,
        micros,
    })
}
