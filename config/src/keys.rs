//! Reading typed values out of a flat property map while collecting every error, then
//! sorting the keys nobody read into "known, kept raw" and "unknown, warned".
//!
//! ```text
//! map --KeyReader::{string, int, bool, choice, ..}--> typed fields + KeyErrors
//!     --KeyReader::finish(known)--> extra (known raw keys) + Warnings (unknown keys)
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::error::{ConfigErrors, KeyError, Warning};
use crate::secret::Secret;

/// An enum whose values are spelled as in Debezium.
pub(crate) trait Choice: Sized + Copy {
    /// The accepted spellings, listed in error messages.
    fn allowed() -> &'static [&'static str];
    /// Case-insensitive parse, as Debezium's `EnumeratedValue::parse` does.
    fn parse_value(value: &str) -> Option<Self>;
}

/// Declares a config enum with its Debezium spellings (and optional accepted aliases),
/// `VALUES`, `as_str`, `parse`, `Display` and [`Choice`].
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $value:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// The Debezium spellings, in documentation order (aliases not included).
            pub const VALUES: &'static [&'static str] = &[$($value),+];

            /// The Debezium spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $value ),+
                }
            }

            /// Parses a Debezium spelling or alias, ignoring ASCII case and surrounding
            /// whitespace as Debezium does.
            pub fn parse(value: &str) -> Option<Self> {
                let value = value.trim();
                $(
                    if value.eq_ignore_ascii_case($value) $(|| value.eq_ignore_ascii_case($alias))* {
                        return Some(Self::$variant);
                    }
                )+
                None
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::keys::Choice for $name {
            fn allowed() -> &'static [&'static str] {
                Self::VALUES
            }
            fn parse_value(value: &str) -> Option<Self> {
                Self::parse(value)
            }
        }
    };
}
pub(crate) use config_enum;

/// Keys that are understood but not typed here: kept raw in `extra`, no warning.
pub(crate) struct KnownKeys<'k> {
    pub exact: &'k [&'k str],
    pub prefixes: &'k [&'k str],
    /// Extra dynamic prefixes (e.g. one per custom converter name).
    pub dynamic_prefixes: Vec<String>,
    /// Old or misspelled names and the hint to give for them.
    pub renamed: &'k [(&'k str, &'k str)],
}

impl KnownKeys<'_> {
    fn contains(&self, key: &str) -> bool {
        self.exact.contains(&key)
            || self.prefixes.iter().any(|p| key.starts_with(p))
            || self
                .dynamic_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
    }
}

/// Reads typed values from a property map, recording which keys were read and every error.
pub(crate) struct KeyReader<'a> {
    map: &'a BTreeMap<String, String>,
    /// Every key a typed field looked up, present or not (for typo suggestions and for
    /// telling read keys from unread ones).
    asked: BTreeSet<&'static str>,
    errors: Vec<KeyError>,
    warnings: Vec<Warning>,
}

impl<'a> KeyReader<'a> {
    pub fn new(map: &'a BTreeMap<String, String>) -> Self {
        Self {
            map,
            asked: BTreeSet::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn error(&mut self, key: &str, message: impl Into<String>) {
        self.errors.push(KeyError {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub fn warn(&mut self, key: &str, message: impl Into<String>) {
        self.warnings.push(Warning {
            key: key.to_owned(),
            message: message.into(),
        });
    }

    pub fn has_error(&self, key: &str) -> bool {
        self.errors.iter().any(|e| e.key == key)
    }

    /// The value with surrounding whitespace trimmed (Kafka's `ConfigDef` trims), or `None`
    /// when absent or blank.
    pub fn raw(&mut self, key: &'static str) -> Option<&'a str> {
        self.asked.insert(key);
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The trimmed, non-blank value without marking the key as read, for keys that stay
    /// raw in `extra` but influence validation.
    pub fn peek(&self, key: &str) -> Option<&'a str> {
        self.map
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&mut self, key: &'static str) -> Option<String> {
        self.raw(key).map(str::to_owned)
    }

    pub fn string_or(&mut self, key: &'static str, default: &str) -> String {
        self.raw(key).unwrap_or(default).to_owned()
    }

    pub fn path(&mut self, key: &'static str) -> Option<PathBuf> {
        self.raw(key).map(PathBuf::from)
    }

    /// A required value; on absence records `missing required key {key}: {hint}` and
    /// returns an empty string (the caller's result is discarded with the errors).
    pub fn required(&mut self, key: &'static str, hint: &str) -> String {
        match self.raw(key) {
            Some(v) => v.to_owned(),
            None => {
                self.error(key, format!("missing required key {key}: {hint}"));
                String::new()
            }
        }
    }

    /// A secret, not trimmed (whitespace may be part of a password); blank means absent.
    pub fn secret(&mut self, key: &'static str) -> Option<Secret> {
        self.asked.insert(key);
        self.map
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| Secret::new(v.as_str()))
    }

    pub fn bool(&mut self, key: &'static str, default: bool) -> bool {
        match self.raw(key) {
            None => default,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                self.error(
                    key,
                    format!("invalid value \"{v}\" for {key}: expected true or false"),
                );
                default
            }
        }
    }

    /// An integer in `min..=max`, parsed like Java's `Long.parseLong`.
    pub fn int<T>(&mut self, key: &'static str, default: T, min: i64, max: i64) -> T
    where
        T: TryFrom<i64> + Copy,
    {
        let Some(v) = self.raw(key) else {
            return default;
        };
        let parsed = v
            .parse::<i64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .and_then(|n| T::try_from(n).ok());
        match parsed {
            Some(n) => n,
            None => {
                let expected = match (min, max) {
                    (0, i64::MAX) => "a non-negative integer".to_owned(),
                    (1, i64::MAX) => "a positive integer".to_owned(),
                    (min, i64::MAX) => format!("an integer of at least {min}"),
                    (min, max) => format!("an integer between {min} and {max}"),
                };
                self.error(
                    key,
                    format!("invalid value \"{v}\" for {key}: expected {expected}"),
                );
                default
            }
        }
    }

    pub fn choice<T: Choice>(&mut self, key: &'static str, default: T) -> T {
        let Some(v) = self.raw(key) else {
            return default;
        };
        match T::parse_value(v) {
            Some(c) => c,
            None => {
                self.error(
                    key,
                    format!(
                        "invalid value \"{v}\" for {key}: expected one of {}",
                        T::allowed().join(", ")
                    ),
                );
                default
            }
        }
    }

    /// Sorts unread keys into `extra` (known) and warnings (unknown), then returns the
    /// errors if there are any.
    pub fn finish(
        mut self,
        known: &KnownKeys<'_>,
    ) -> Result<(BTreeMap<String, String>, Vec<Warning>), ConfigErrors> {
        let mut extra = BTreeMap::new();
        for (key, value) in self.map {
            if self.asked.contains(key.as_str()) {
                continue;
            }
            if known.contains(key) {
                extra.insert(key.clone(), value.clone());
                continue;
            }
            let message = match known.renamed.iter().find(|(old, _)| old == key) {
                Some((_, hint)) => format!("unknown key {key}: {hint}; the value is ignored"),
                None => match self.suggest(key, known) {
                    Some(near) => {
                        format!("unknown key {key}: ignored; did you mean {near}?")
                    }
                    None => format!("unknown key {key}: ignored"),
                },
            };
            self.warnings.push(Warning {
                key: key.clone(),
                message,
            });
        }
        if self.errors.is_empty() {
            Ok((extra, self.warnings))
        } else {
            Err(ConfigErrors {
                errors: self.errors,
            })
        }
    }

    /// The closest typed or known key within a small edit distance, for typos.
    fn suggest(&self, key: &str, known: &KnownKeys<'_>) -> Option<String> {
        nearest(
            key,
            self.asked
                .iter()
                .copied()
                .chain(known.exact.iter().copied()),
        )
        .map(str::to_owned)
    }
}

/// The candidate with the smallest edit distance to `key`, if it is at most 2 (and less
/// than a third of the key, so short keys don't match everything).
fn nearest<'c>(key: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let limit = 2.min(key.len() / 3);
    candidates
        .map(|c| (edit_distance(key, c), c))
        .filter(|(d, _)| *d <= limit && *d > 0)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("slot.name", "slot.name"), 0);
        assert_eq!(edit_distance("slot.nmae", "slot.name"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            nearest("slot.nme", ["slot.name", "publication.name"].into_iter()),
            Some("slot.name")
        );
        assert_eq!(nearest("abc", ["abd"].into_iter()), Some("abd"));
        assert_eq!(nearest("ab", ["ac"].into_iter()), None);
    }
}
