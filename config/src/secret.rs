//! A configuration value that must never be printed: passwords and key passphrases.

use std::fmt;

/// A secret string. `Debug` and `Display` print `[hidden]`, so a secret can sit in a
/// config struct that is logged; read it with [`Secret::expose`] only where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call this only to hand it to the thing that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[hidden]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "[hidden]");
        assert_eq!(format!("{s:?}"), "[hidden]");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some([hidden])");
        assert_eq!(s.expose(), "hunter2");
    }
}

/// What a masked secret reads as in REST responses (Connect's own placeholder).
pub const HIDDEN: &str = "[hidden]";

/// Whether a config key holds a secret (Connect's PASSWORD-typed keys and the like): such
/// values are masked in REST responses and never logged.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("password")
        || key.ends_with("basic.auth.user.info")
        || key.ends_with("sasl.jaas.config")
        || key.ends_with("ssl.key.password")
        || key.ends_with("secret")
        || key.ends_with("secret.key")
        || key.ends_with(".token")
}

#[cfg(test)]
mod secret_key_tests {
    use super::is_secret_key;

    #[test]
    fn password_like_keys_are_secret() {
        for k in [
            "database.password",
            "connection.password",
            "database.sslpassword",
            "value.converter.basic.auth.user.info",
            "producer.override.sasl.jaas.config",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "database.user",
            "topic.prefix",
            "password.encoder.algorithm.name",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
