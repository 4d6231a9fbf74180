//! The Java behaviour that Connect configs and outputs depend on, reproduced: `java.util.regex`
//! patterns and `Matcher.replaceFirst` replacements (`$1`, `${name}`, `\$`), `Double.toString`,
//! and `java.text.SimpleDateFormat` in UTC (the subset of pattern letters listed at
//! [`DatePattern`]).
//!
//! Java regex features without an equivalent in Rust's `regex` crate (look-around,
//! back-references, possessive quantifiers, atomic groups) are rejected with a message instead
//! of matching differently.

use std::fmt::Write as _;

use regex::{Captures, Regex};

use crate::converter::json::{write_java_double, write_java_float};

/// Compiles a Java regular expression; `whole` anchors it at both ends (`Matcher.matches`).
pub(crate) fn regex(pattern: &str, whole: bool) -> Result<Regex, String> {
    let translated = translate(pattern)?;
    let source = if whole {
        format!(r"\A(?:{translated})\z")
    } else {
        translated
    };
    Regex::new(&source).map_err(|e| match e {
        regex::Error::Syntax(s) => s
            .lines()
            .last()
            .unwrap_or("syntax error")
            .trim()
            .to_string(),
        other => other.to_string(),
    })
}

/// Java pattern syntax to Rust's: `\Q...\E` quoting, and a clear error for what Rust lacks.
fn translate(pattern: &str) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Q') => {
                    let mut quoted = String::new();
                    loop {
                        match chars.next() {
                            None => break,
                            Some('\\') if chars.peek() == Some(&'E') => {
                                chars.next();
                                break;
                            }
                            Some(q) => quoted.push(q),
                        }
                    }
                    out.push_str(&regex::escape(&quoted));
                }
                Some(d @ '1'..='9') if !in_class => {
                    return Err(format!(
                        "back-reference \\{d} is not supported (Java-only regex feature)"
                    ));
                }
                Some('k') if !in_class => {
                    return Err("named back-references (\\k<name>) are not supported".into());
                }
                Some(e) => {
                    out.push('\\');
                    out.push(e);
                }
                None => return Err("the pattern ends with a lone backslash".into()),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            '(' if !in_class && chars.peek() == Some(&'?') => {
                let mut look = chars.clone();
                look.next();
                match (look.next(), look.next()) {
                    (Some('='), _)
                    | (Some('!'), _)
                    | (Some('<'), Some('='))
                    | (Some('<'), Some('!')) => {
                        return Err("look-ahead and look-behind groups are not supported".into())
                    }
                    (Some('>'), _) => return Err("atomic groups (?>...) are not supported".into()),
                    _ => out.push(c),
                }
            }
            '+' if !in_class && out.ends_with(['*', '+', '?', '}']) && !out.ends_with("\\+") => {
                return Err("possessive quantifiers (*+, ++, ?+) are not supported".into())
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// A `Matcher.replaceFirst` replacement, parsed once against its regex.
#[derive(Debug, Clone)]
pub(crate) struct Replacement {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Group(usize),
    Named(String),
}

impl Replacement {
    /// Parses Java replacement syntax: `$n` (digits taken while they name a group), `${name}`,
    /// `\x` for a literal `x`.
    pub(crate) fn parse(text: &str, regex: &Regex) -> Result<Replacement, String> {
        let groups = regex.captures_len().saturating_sub(1);
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) => literal.push(e),
                    None => return Err("character to be escaped is missing".into()),
                },
                '$' => {
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    match chars.next() {
                        Some('{') => {
                            let mut name = String::new();
                            loop {
                                match chars.next() {
                                    Some('}') => break,
                                    Some(n) if n.is_ascii_alphanumeric() => name.push(n),
                                    _ => {
                                        return Err(
                                            "named capturing group is missing trailing '}'".into()
                                        )
                                    }
                                }
                            }
                            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
                                return Err(format!("invalid capturing group name \"{name}\""));
                            }
                            if !regex.capture_names().flatten().any(|n| n == name) {
                                return Err(format!("no group with name {{{name}}}"));
                            }
                            parts.push(Part::Named(name));
                        }
                        Some(d) if d.is_ascii_digit() => {
                            let mut n = d.to_digit(10).unwrap_or(0) as usize;
                            if n > groups {
                                return Err(format!("no group {n}"));
                            }
                            while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                                let candidate = n * 10 + next as usize;
                                if candidate > groups {
                                    break;
                                }
                                n = candidate;
                                chars.next();
                            }
                            parts.push(Part::Group(n));
                        }
                        _ => return Err("illegal group reference".into()),
                    }
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Replacement { parts })
    }

    /// The replacement with the groups of `caps` filled in (a group that did not take part is
    /// empty, as in Java).
    pub(crate) fn expand(&self, caps: &Captures<'_>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Group(n) => out.push_str(caps.get(*n).map_or("", |m| m.as_str())),
                Part::Named(n) => out.push_str(caps.name(n).map_or("", |m| m.as_str())),
            }
        }
        out
    }
}

/// `Matcher.matches()` then `replaceFirst`: the new text when the whole input matches.
pub(crate) fn replace_whole(
    regex: &Regex,
    replacement: &Replacement,
    input: &str,
) -> Option<String> {
    regex.captures(input).map(|caps| replacement.expand(&caps))
}

/// Java's `Double.toString`.
pub(crate) fn double_to_string(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let mut out = Vec::new();
    write_java_double(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

/// Java's `Float.toString`.
pub(crate) fn float_to_string(v: f32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let mut out = Vec::new();
    write_java_float(&mut out, v);
    String::from_utf8(out).unwrap_or_default()
}

/// A UTC instant broken into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub millis: u32,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl DateTime {
    pub(crate) fn from_millis(ms: i64) -> DateTime {
        let days = ms.div_euclid(super::data::MILLIS_PER_DAY);
        let rem = ms.rem_euclid(super::data::MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: (rem / 3_600_000) as u32,
            minute: (rem / 60_000 % 60) as u32,
            second: (rem / 1000 % 60) as u32,
            millis: (rem % 1000) as u32,
        }
    }

    pub(crate) fn to_millis(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * super::data::MILLIS_PER_DAY
            + i64::from(self.hour) * 3_600_000
            + i64::from(self.minute) * 60_000
            + i64::from(self.second) * 1000
            + i64::from(self.millis)
    }

    fn weekday(self) -> usize {
        // 1970-01-01 was a Thursday; index 0 = Monday.
        (days_from_civil(self.year, self.month, self.day) + 3).rem_euclid(7) as usize
    }

    fn day_of_year(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1
    }
}

/// `yyyy-MM-dd` (Connect's format for a `Date`).
pub(crate) fn format_date(ms: i64) -> String {
    let d = DateTime::from_millis(ms);
    format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

/// `HH:mm:ss.SSS'Z'` (Connect's format for a `Time`).
pub(crate) fn format_time(ms: i64) -> String {
    let d = DateTime::from_millis(ms);
    format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        d.hour, d.minute, d.second, d.millis
    )
}

/// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (Connect's format for a `Timestamp`), or the date or time
/// format when the instant is a whole day or within the first day, as `Values.dateFormatFor`
/// picks.
pub(crate) fn format_timestamp(ms: i64) -> String {
    if (0..super::data::MILLIS_PER_DAY).contains(&ms) {
        return format_time(ms);
    }
    if ms % super::data::MILLIS_PER_DAY == 0 {
        return format_date(ms);
    }
    let d = DateTime::from_millis(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        d.year, d.month, d.day, d.hour, d.minute, d.second, d.millis
    )
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A `java.text.SimpleDateFormat` pattern in the UTC time zone. Supported letters: `G y M L d
/// D E u a H k K h m s S z Z X` and quoted text; others are rejected.
#[derive(Debug, Clone)]
pub(crate) struct DatePattern {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Literal(String),
    Field(char, usize),
}

impl Token {
    fn is_numeric(&self) -> bool {
        match self {
            Token::Field(c, n) => {
                matches!(
                    c,
                    'y' | 'd' | 'D' | 'H' | 'k' | 'K' | 'h' | 'm' | 's' | 'S' | 'u'
                ) || (matches!(c, 'M' | 'L') && *n <= 2)
            }
            Token::Literal(_) => false,
        }
    }
}

impl DatePattern {
    pub(crate) fn parse(pattern: &str) -> Result<DatePattern, String> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    literal.push('\'');
                    continue;
                }
                loop {
                    match chars.next() {
                        None => return Err("unterminated quote in date pattern".into()),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(q) => literal.push(q),
                    }
                }
            } else if c.is_ascii_alphabetic() {
                if !"GyMLdDEuaHkKhmsSzZX".contains(c) {
                    return Err(format!("pattern letter '{c}' is not supported by Sluice"));
                }
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                let mut n = 1;
                while chars.peek() == Some(&c) {
                    chars.next();
                    n += 1;
                }
                tokens.push(Token::Field(c, n));
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            tokens.push(Token::Literal(literal));
        }
        Ok(DatePattern { tokens })
    }

    /// `format(new Date(ms))`.
    pub(crate) fn format(&self, ms: i64) -> String {
        let d = DateTime::from_millis(ms);
        let mut out = String::new();
        for t in &self.tokens {
            match *t {
                Token::Literal(ref s) => out.push_str(s),
                Token::Field(c, n) => {
                    let num = |out: &mut String, v: i64| {
                        let _ = write!(out, "{v:0n$}");
                    };
                    match c {
                        'G' => out.push_str(if d.year > 0 { "AD" } else { "BC" }),
                        'y' => {
                            let year = if d.year > 0 { d.year } else { 1 - d.year };
                            if n == 2 {
                                num(&mut out, year % 100);
                            } else {
                                num(&mut out, year);
                            }
                        }
                        'M' | 'L' => match n {
                            1 | 2 => num(&mut out, i64::from(d.month)),
                            3 => out.push_str(&MONTHS[d.month as usize - 1][..3]),
                            _ => out.push_str(MONTHS[d.month as usize - 1]),
                        },
                        'd' => num(&mut out, i64::from(d.day)),
                        'D' => num(&mut out, d.day_of_year()),
                        'E' => {
                            let name = WEEKDAYS[d.weekday()];
                            out.push_str(if n >= 4 { name } else { &name[..3] });
                        }
                        'u' => num(&mut out, d.weekday() as i64 + 1),
                        'a' => out.push_str(if d.hour < 12 { "AM" } else { "PM" }),
                        'H' => num(&mut out, i64::from(d.hour)),
                        'k' => num(&mut out, if d.hour == 0 { 24 } else { i64::from(d.hour) }),
                        'K' => num(&mut out, i64::from(d.hour % 12)),
                        'h' => num(
                            &mut out,
                            match d.hour % 12 {
                                0 => 12,
                                h => i64::from(h),
                            },
                        ),
                        'm' => num(&mut out, i64::from(d.minute)),
                        's' => num(&mut out, i64::from(d.second)),
                        'S' => num(&mut out, i64::from(d.millis)),
                        'z' => out.push_str(if n >= 4 {
                            "Coordinated Universal Time"
                        } else {
                            "UTC"
                        }),
                        'Z' => out.push_str("+0000"),
                        'X' => out.push('Z'),
                        _ => {}
                    }
                }
            }
        }
        out
    }

    /// `parse(text).getTime()`: milliseconds since the epoch, UTC unless the text has a zone.
    pub(crate) fn parse_millis(&self, text: &str) -> Result<i64, String> {
        let mut d = DateTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            millis: 0,
        };
        let mut pm: Option<bool> = None;
        let mut hour12: Option<u32> = None;
        let mut offset_ms: i64 = 0;
        let mut day_of_year: Option<i64> = None;
        let mut rest = text;
        let unparseable = || "the text does not match the date pattern".to_string();
        for (i, t) in self.tokens.iter().enumerate() {
            let next_numeric = self.tokens.get(i + 1).is_some_and(Token::is_numeric);
            match t {
                Token::Literal(s) => {
                    rest = rest.strip_prefix(s.as_str()).ok_or_else(unparseable)?;
                }
                Token::Field(c, n) if t.is_numeric() => {
                    let (neg, body) = match (c, rest.strip_prefix('-')) {
                        ('y', Some(b)) => (true, b),
                        _ => (false, rest),
                    };
                    let avail = body.bytes().take_while(u8::is_ascii_digit).count();
                    let take = if next_numeric { (*n).min(avail) } else { avail };
                    if take == 0 {
                        return Err(unparseable());
                    }
                    let v: i64 = body[..take].parse().map_err(|_| unparseable())?;
                    let v = if neg { -v } else { v };
                    rest = &body[take..];
                    let small = u32::try_from(v).map_err(|_| unparseable())?;
                    match c {
                        'y' => {
                            d.year = if *n <= 2 && take == 2 {
                                // SimpleDateFormat: within 80 years before / 20 after now; 2000+
                                // is the usual result.
                                2000 + v
                            } else {
                                v
                            }
                        }
                        'M' | 'L' => d.month = small,
                        'd' => d.day = small,
                        'D' => day_of_year = Some(v),
                        'H' | 'k' => d.hour = small % 24,
                        'K' | 'h' => hour12 = Some(small % 12),
                        'm' => d.minute = small,
                        's' => d.second = small,
                        'S' => d.millis = small,
                        _ => {}
                    }
                }
                Token::Field(c, _) => match c {
                    'M' | 'L' => {
                        let found = MONTHS.iter().enumerate().find_map(|(i, m)| {
                            [m.len(), 3].into_iter().find_map(|len| {
                                rest.get(..len)
                                    .filter(|p| p.eq_ignore_ascii_case(&m[..len]))
                                    .map(|_| (i, len))
                            })
                        });
                        let (i, len) = found.ok_or_else(unparseable)?;
                        d.month = i as u32 + 1;
                        rest = &rest[len..];
                    }
                    'E' => {
                        let found = WEEKDAYS.iter().find_map(|w| {
                            [w.len(), 3].into_iter().find_map(|len| {
                                rest.get(..len)
                                    .filter(|p| p.eq_ignore_ascii_case(&w[..len]))
                                    .map(|_| len)
                            })
                        });
                        rest = &rest[found.ok_or_else(unparseable)?..];
                    }
                    'a' => {
                        let p = rest.get(..2).ok_or_else(unparseable)?;
                        pm = Some(if p.eq_ignore_ascii_case("pm") {
                            true
                        } else if p.eq_ignore_ascii_case("am") {
                            false
                        } else {
                            return Err(unparseable());
                        });
                        rest = &rest[2..];
                    }
                    'G' => {
                        let p = rest.get(..2).ok_or_else(unparseable)?;
                        rest = &rest[p.len()..];
                    }
                    'z' | 'Z' | 'X' => {
                        let (ms, used) = parse_zone(rest).ok_or_else(unparseable)?;
                        offset_ms = ms;
                        rest = &rest[used..];
                    }
                    _ => return Err(unparseable()),
                },
            }
        }
        if let Some(h) = hour12 {
            d.hour = h + if pm == Some(true) { 12 } else { 0 };
        } else if let (Some(true), true) = (pm, d.hour < 12) {
            d.hour += 12;
        }
        let mut ms = d.to_millis();
        if let Some(doy) = day_of_year {
            ms += (doy
                - 1
                - (days_from_civil(d.year, d.month, d.day) - days_from_civil(d.year, 1, 1)))
                * super::data::MILLIS_PER_DAY;
        }
        // Lenient like SimpleDateFormat's default: out-of-range fields roll over through the
        // arithmetic above; trailing text is ignored as by `DateFormat.parse(String)`.
        Ok(ms - offset_ms)
    }
}

/// A zone at the start of `text`: `Z`, `UTC`/`GMT`, `+hh`, `+hhmm`, `+hh:mm`, `GMT+hh:mm`.
fn parse_zone(text: &str) -> Option<(i64, usize)> {
    if text.starts_with('Z') {
        return Some((0, 1));
    }
    let mut used = 0;
    let mut t = text;
    for name in ["UTC", "GMT"] {
        if let Some(r) = t.strip_prefix(name) {
            used += 3;
            t = r;
            if !t.starts_with(['+', '-']) {
                return Some((0, used));
            }
        }
    }
    let sign = match t.chars().next()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let digits: String = t[1..].chars().filter(|c| *c != ':').take(4).collect();
    let raw_len = t[1..]
        .char_indices()
        .scan(0, |count, (i, c)| {
            if c.is_ascii_digit() && *count < 4 {
                *count += 1;
                Some(i + 1)
            } else if c == ':' && *count == 2 {
                Some(i + 1)
            } else {
                None
            }
        })
        .last()?;
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = digits[..2].parse().ok()?;
    let minutes: i64 = digits.get(2..4).and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((
        sign * (hours * 3_600_000 + minutes * 60_000),
        used + 1 + raw_len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_replacements() {
        let r = regex("(.*)\\.(?<table>[^.]*)", true).expect("regex");
        let caps = r.captures("db.inventory.customers").expect("match");
        let rep = Replacement::parse("$1_x_${table}\\$", &r).expect("replacement");
        assert_eq!(rep.expand(&caps), "db.inventory_x_customers$");
        // "$10" is group 1 then "0" when there are fewer than ten groups.
        let rep = Replacement::parse("$10", &r).expect("replacement");
        assert_eq!(rep.expand(&caps), "db.inventory0");
        assert!(Replacement::parse("$3", &r).is_err());
        assert!(Replacement::parse("${nope}", &r).is_err());
        assert!(Replacement::parse("$x", &r).is_err());
        assert!(regex("a(?=b)", false).is_err());
        assert!(regex("(a)\\1", false).is_err());
        assert!(regex("a++", false).is_err());
        let q = regex("\\Qa.b\\E.*", true).expect("quoted");
        assert!(q.is_match("a.bc") && !q.is_match("axbc"));
        // Whole-string matching, as Matcher.matches.
        let w = regex("ab", true).expect("regex");
        assert!(w.is_match("ab") && !w.is_match("xab") && !w.is_match("abx"));
    }

    #[test]
    fn java_number_text() {
        assert_eq!(double_to_string(1.0), "1.0");
        assert_eq!(double_to_string(1.0e10), "1.0E10");
        assert_eq!(double_to_string(f64::NAN), "NaN");
        assert_eq!(float_to_string(0.1), "0.1");
    }

    #[test]
    fn simple_date_format() {
        let p = DatePattern::parse("yyyy-MM-dd'T'HH:mm:ss.SSSZ").expect("pattern");
        let ms = 1_700_000_000_123;
        assert_eq!(p.format(ms), "2023-11-14T22:13:20.123+0000");
        assert_eq!(p.parse_millis("2023-11-14T22:13:20.123+0000"), Ok(ms));
        assert_eq!(p.parse_millis("2023-11-14T23:13:20.123+0100"), Ok(ms));
        let compact = DatePattern::parse("yyyyMMdd").expect("pattern");
        assert_eq!(compact.format(ms), "20231114");
        assert_eq!(compact.parse_millis("20231114"), Ok(1_699_920_000_000));
        let text = DatePattern::parse("EEE, d MMM yyyy hh:mm a").expect("pattern");
        assert_eq!(text.format(ms), "Tue, 14 Nov 2023 10:13 PM");
        assert_eq!(
            text.parse_millis("Tue, 14 Nov 2023 10:13 PM"),
            Ok(1_700_000_000_123 - 20_123)
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_date(0), "1970-01-01");
        assert!(DatePattern::parse("yyyy-ww").is_err());
        assert!(p.parse_millis("nonsense").is_err());
    }
}
