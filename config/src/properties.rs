//! Java `.properties` parsing, following `java.util.Properties::load` so a Kafka Connect
//! worker or connector file reads exactly as the JVM would read it.
//!
//! ```text
//! physical lines --(comments, blank lines, `\` continuations)--> logical lines
//!     --(first unescaped `=`, `:` or whitespace)--> key | value --(escapes)--> map
//! ```
//!
//! Rules, all from the Java format:
//! - `#` or `!` as the first non-blank character starts a comment line; a comment line never
//!   continues onto the next line, whatever it ends with.
//! - A line ending in an odd number of backslashes continues on the next line, whose leading
//!   whitespace is dropped. A continuation line starting with `#` is value text, not a comment.
//! - The key ends at the first unescaped `=`, `:` or whitespace; whitespace around the
//!   separator is skipped, and after whitespace one `=` or `:` may still follow.
//! - Escapes: `\t \n \r \f \uXXXX`; a backslash before any other character yields that
//!   character (so `\=`, `\:`, `\ `, `\#` and `\\` are literal).
//! - Whitespace means space, tab and form feed. Line ends are `\n`, `\r` or `\r\n`.
//! - A later duplicate key replaces the earlier one.
//!
//! Where Rust cannot follow Java: a `\uXXXX` escape naming half of a UTF-16 surrogate pair
//! without its other half is an error, since a Rust `String` cannot hold it.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// A `.properties` text that `java.util.Properties` would also reject (or that names an
/// unpaired UTF-16 surrogate). `line` is the 1-based physical line of the bad escape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct PropertiesError {
    /// 1-based physical line number.
    pub line: usize,
    /// What is wrong.
    pub kind: PropertiesErrorKind,
}

/// The ways a `.properties` text can be malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PropertiesErrorKind {
    /// `\u` not followed by four hexadecimal digits.
    #[error("malformed \\uXXXX escape: write exactly four hex digits after \\u")]
    MalformedUnicodeEscape,
    /// `\uD800`..`\uDFFF` without its pair.
    #[error("unpaired utf-16 surrogate in \\uXXXX escape: write the character itself or both halves of the pair")]
    UnpairedSurrogate,
}

/// Parses `.properties` text into a map; see the module docs for the rules.
pub fn parse(input: &str) -> Result<BTreeMap<String, String>, PropertiesError> {
    let mut map = BTreeMap::new();
    for entry in entries(input) {
        let (key, value) = entry?;
        map.insert(key, value);
    }
    Ok(map)
}

/// Decodes file bytes: UTF-8 (a leading byte-order mark is dropped), or ISO-8859-1 when the
/// bytes are not valid UTF-8, which is what `Properties::load(InputStream)` assumes.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
    }
}

/// Key/value pairs in file order.
fn entries(input: &str) -> impl Iterator<Item = Result<(String, String), PropertiesError>> + '_ {
    let lines = physical_lines(input);
    let mut next = 0;
    std::iter::from_fn(move || loop {
        let (number, raw) = *lines.get(next)?;
        next += 1;
        let text = trim_start_blank(raw);
        if text.is_empty() || text.starts_with('#') || text.starts_with('!') {
            continue;
        }
        let mut logical = LogicalLine::new(number);
        let mut current = text;
        while let Some(head) = strip_continuation(current) {
            logical.push(head);
            match lines.get(next) {
                Some(&(number, raw)) => {
                    next += 1;
                    logical.start_segment(number);
                    current = trim_start_blank(raw);
                }
                // A continuation at end of input continues onto nothing.
                None => {
                    current = "";
                    break;
                }
            }
        }
        logical.push(current);
        return Some(logical.split());
    })
}

/// Physical lines with 1-based numbers, split at `\n`, `\r` or `\r\n`.
fn physical_lines(input: &str) -> Vec<(usize, &str)> {
    let mut lines = Vec::new();
    let bytes = input.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&input[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&input[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < bytes.len() {
        lines.push(&input[start..]);
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .collect()
}

fn is_blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\x0C')
}

fn trim_start_blank(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\x0C'])
}

/// `Some(line without its final backslash)` when the line ends in an odd number of them.
fn strip_continuation(line: &str) -> Option<&str> {
    let trailing = line.bytes().rev().take_while(|&b| b == b'\\').count();
    (trailing % 2 == 1).then(|| &line[..line.len() - 1])
}

/// One logical line, remembering where each physical line starts so errors name the
/// physical line the bad escape is on.
struct LogicalLine {
    text: String,
    /// (byte offset in `text`, physical line number), ascending.
    segments: Vec<(usize, usize)>,
}

impl LogicalLine {
    fn new(line: usize) -> Self {
        Self {
            text: String::new(),
            segments: vec![(0, line)],
        }
    }

    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn start_segment(&mut self, line: usize) {
        self.segments.push((self.text.len(), line));
    }

    fn line_at(&self, offset: usize) -> usize {
        self.segments
            .iter()
            .rev()
            .find(|(start, _)| *start <= offset)
            .map_or(self.segments[0].1, |(_, line)| *line)
    }

    /// Splits at the first unescaped `=`, `:` or blank, then unescapes both halves.
    fn split(&self) -> Result<(String, String), PropertiesError> {
        // Scanning bytes is safe: every byte we compare with is ASCII, and UTF-8
        // continuation bytes never equal an ASCII byte, so all slice points are char
        // boundaries.
        let bytes = self.text.as_bytes();
        let len = bytes.len();
        let mut key_end = len;
        let mut value_start = len;
        let mut has_separator = false;
        let mut escaped = false;
        for (i, &c) in bytes.iter().enumerate() {
            if !escaped && (c == b'=' || c == b':') {
                key_end = i;
                value_start = i + 1;
                has_separator = true;
                break;
            }
            if !escaped && is_blank(c) {
                key_end = i;
                value_start = i + 1;
                break;
            }
            escaped = c == b'\\' && !escaped;
        }
        while let Some(&c) = bytes.get(value_start) {
            if is_blank(c) {
                value_start += 1;
            } else if !has_separator && (c == b'=' || c == b':') {
                has_separator = true;
                value_start += 1;
            } else {
                break;
            }
        }
        let key = self.unescape(0, key_end)?;
        let value = self.unescape(value_start, len)?;
        Ok((key, value))
    }

    fn unescape(&self, start: usize, end: usize) -> Result<String, PropertiesError> {
        let s = &self.text[start..end];
        let mut out = String::with_capacity(s.len());
        let mut chars = s.char_indices();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let error = |kind| PropertiesError {
                line: self.line_at(start + i),
                kind,
            };
            match chars.next() {
                // Only reachable for a key or value cut right after a backslash; Java drops it.
                None => {}
                Some((_, 't')) => out.push('\t'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'f')) => out.push('\x0C'),
                Some((_, 'u')) => {
                    let unit = read_hex4(&mut chars)
                        .ok_or_else(|| error(PropertiesErrorKind::MalformedUnicodeEscape))?;
                    let c = match unit {
                        0xD800..=0xDBFF => {
                            // A high surrogate must be followed by `\u` + low surrogate.
                            let mut lookahead = chars.clone();
                            let low = match (lookahead.next(), lookahead.next()) {
                                (Some((_, '\\')), Some((_, 'u'))) => read_hex4(&mut lookahead)
                                    .ok_or_else(|| {
                                        error(PropertiesErrorKind::MalformedUnicodeEscape)
                                    })?,
                                _ => return Err(error(PropertiesErrorKind::UnpairedSurrogate)),
                            };
                            if !(0xDC00..=0xDFFF).contains(&low) {
                                return Err(error(PropertiesErrorKind::UnpairedSurrogate));
                            }
                            chars = lookahead;
                            let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                            char::from_u32(code)
                                .ok_or_else(|| error(PropertiesErrorKind::UnpairedSurrogate))?
                        }
                        _ => char::from_u32(unit)
                            .ok_or_else(|| error(PropertiesErrorKind::UnpairedSurrogate))?,
                    };
                    out.push(c);
                }
                Some((_, other)) => out.push(other),
            }
        }
        Ok(out)
    }
}

fn read_hex4(chars: &mut std::str::CharIndices<'_>) -> Option<u32> {
    let mut unit = 0;
    for _ in 0..4 {
        let (_, c) = chars.next()?;
        unit = unit * 16 + c.to_digit(16)?;
    }
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(input: &str) -> Vec<(String, String)> {
        parse(input)
            .expect("valid properties")
            .into_iter()
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = expected
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn separators() {
        let input = "a=1\nb:2\nc 3\nd = 4\ne : 5\nf\t\t6\ng  =  7\nh=\ni\nj :=x\nk==x\n";
        assert_eq!(
            parsed(input),
            pairs(&[
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", "4"),
                ("e", "5"),
                ("f", "6"),
                ("g", "7"),
                ("h", ""),
                ("i", ""),
                ("j", "=x"),
                ("k", "=x"),
            ])
        );
    }

    #[test]
    fn comments_and_blank_lines() {
        let input = "# comment\n! also comment\n   # indented comment\n\n   \t\nkey=value # not a comment\n";
        assert_eq!(parsed(input), pairs(&[("key", "value # not a comment")]));
    }

    #[test]
    fn comment_line_does_not_continue() {
        let input = "# comment ends with backslash \\\nkey=value\n";
        assert_eq!(parsed(input), pairs(&[("key", "value")]));
    }

    #[test]
    fn leading_whitespace_and_trailing_whitespace() {
        let input = "   key = value with trailing   \n";
        assert_eq!(parsed(input), pairs(&[("key", "value with trailing   ")]));
    }

    #[test]
    fn continuation_lines() {
        let input = "list = a,\\\n       b,\\\n   \t  c\nnext=1\n";
        assert_eq!(parsed(input), pairs(&[("list", "a,b,c"), ("next", "1")]));
    }

    #[test]
    fn continuation_line_starting_with_hash_is_value() {
        let input = "k=a\\\n  #b\n";
        assert_eq!(parsed(input), pairs(&[("k", "a#b")]));
    }

    #[test]
    fn continuation_into_blank_line_ends_value() {
        let input = "k=a\\\n\nother=b\n";
        assert_eq!(parsed(input), pairs(&[("k", "a"), ("other", "b")]));
    }

    #[test]
    fn continuation_at_end_of_input() {
        assert_eq!(parsed("k=a\\"), pairs(&[("k", "a")]));
    }

    #[test]
    fn even_backslashes_do_not_continue() {
        let input = "k=a\\\\\nnext=1\n";
        assert_eq!(parsed(input), pairs(&[("k", "a\\"), ("next", "1")]));
    }

    #[test]
    fn continuation_in_key() {
        let input = "long\\\n   key=v\n";
        assert_eq!(parsed(input), pairs(&[("longkey", "v")]));
    }

    #[test]
    fn escapes() {
        let input = r"k=tab\there\nnew\rret\fff \u0041\u00e9 \q\\ \=\:";
        assert_eq!(
            parsed(input),
            pairs(&[("k", "tab\there\nnew\rret\x0Cff Aé q\\ =:")])
        );
    }

    #[test]
    fn escaped_separators_in_key() {
        let input = "a\\=b=c\nx\\:y:z\nsp\\ ace = v\n\\#notcomment=1\n";
        assert_eq!(
            parsed(input),
            pairs(&[
                ("a=b", "c"),
                ("x:y", "z"),
                ("sp ace", "v"),
                ("#notcomment", "1")
            ])
        );
    }

    #[test]
    fn surrogate_pair() {
        assert_eq!(parsed(r"k=\uD83D\uDE00"), pairs(&[("k", "😀")]));
    }

    #[test]
    fn unicode_text_passes_through() {
        assert_eq!(parsed("clé=välue ✓\n"), pairs(&[("clé", "välue ✓")]));
    }

    #[test]
    fn line_endings() {
        assert_eq!(
            parsed("a=1\r\nb=2\rc=3\nd=4"),
            pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")])
        );
        assert_eq!(parsed("k=a\\\r\n  b\r\n"), pairs(&[("k", "ab")]));
    }

    #[test]
    fn duplicate_key_last_wins() {
        assert_eq!(parsed("k=1\nk=2\n"), pairs(&[("k", "2")]));
    }

    #[test]
    fn malformed_unicode_escape_names_line() {
        let err = parse("a=1\n\nb=\\u12G4\n").expect_err("malformed");
        assert_eq!(err.line, 3);
        assert_eq!(err.kind, PropertiesErrorKind::MalformedUnicodeEscape);
        let err = parse("a=\\u12").expect_err("short");
        assert_eq!(err.line, 1);
        assert!(err.to_string().starts_with("line 1: malformed"));
    }

    #[test]
    fn error_in_continuation_names_physical_line() {
        let err = parse("a=x\\\n  y\\\n  \\uZZZZ\n").expect_err("malformed");
        assert_eq!(err.line, 3);
    }

    #[test]
    fn unpaired_surrogate_is_an_error() {
        let err = parse("k=\\uD83D x").expect_err("lone high");
        assert_eq!(err.kind, PropertiesErrorKind::UnpairedSurrogate);
        let err = parse("k=\\uDE00").expect_err("lone low");
        assert_eq!(err.kind, PropertiesErrorKind::UnpairedSurrogate);
    }

    #[test]
    fn decode_falls_back_to_latin1() {
        assert_eq!(decode(b"\xEF\xBB\xBFk=v"), "k=v");
        assert_eq!(decode(b"k=caf\xe9"), "k=café");
        assert_eq!(decode("k=café".as_bytes()), "k=café");
    }
}
