//! What validation reports: per-key errors that stop a config from loading, and warnings
//! for keys that are ignored.

use std::fmt;

/// One problem with one key. `message` is lowercase, names the key, shows the bad value
/// (never for secrets) and says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    /// The property name, e.g. `decimal.handling.mode`.
    pub key: String,
    /// The full message, e.g. `invalid value "precize" for decimal.handling.mode: expected one
    /// of precise, double, string`.
    pub message: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KeyError {}

/// Every [`KeyError`] found in one config, so the user can fix them all in one pass.
/// Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// In the order the keys were checked.
    pub errors: Vec<KeyError>,
}

impl ConfigErrors {
    /// The error for `key`, if there is one.
    pub fn for_key(&self, key: &str) -> Option<&KeyError> {
        self.errors.iter().find(|e| e.key == key)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [one] => f.write_str(&one.message),
            many => {
                write!(f, "{} configuration errors", many.len())?;
                for e in many {
                    write!(f, "; {}", e.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigErrors {}

impl IntoIterator for ConfigErrors {
    type Item = KeyError;
    type IntoIter = std::vec::IntoIter<KeyError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

/// A key that was accepted but has no effect (unknown, renamed by Debezium, or
/// meaningless with the other settings). Debezium ignores unknown keys, so Sluice does too,
/// and says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The property name.
    pub key: String,
    /// Lowercase, names the key and what to do.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
