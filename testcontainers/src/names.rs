//! Unique, identifier-safe names so parallel tests never share a database, slot or
//! publication.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Longest identifier Postgres keeps (NAMEDATALEN - 1).
const MAX_IDENTIFIER_BYTES: usize = 63;
/// Room left for the sanitised prefix after `_<pid>_<counter>_<random>`.
const MAX_PREFIX_BYTES: usize = 28;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `prefix` lowercased to `[a-z0-9_]`, then `_<pid>_<counter>_<random>`.
///
/// The result starts with a letter or `_`, is at most 63 bytes, and so is valid unquoted as
/// a database, slot, publication or table name. The pid separates nextest processes, the
/// counter threads of one process, the random part runs against a reused external server.
pub(crate) fn unique_name(prefix: &str) -> String {
    let mut name: String = prefix
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .take(MAX_PREFIX_BYTES)
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        name.insert(0, 't');
    }
    let counter = COUNTER.fetch_add(1, Ordering::Relaxed);
    name.push_str(&format!(
        "_{}_{}_{:08x}",
        std::process::id(),
        counter,
        random_u32()
    ));
    name.truncate(MAX_IDENTIFIER_BYTES);
    name
}

/// Not cryptographic: std's per-instance random hash keys, mixed with the clock.
fn random_u32() -> u32 {
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    hasher.write_u128(nanos);
    hasher.finish() as u32
}

#[cfg(test)]
mod tests {
    use super::unique_name;

    #[test]
    fn names_are_valid_identifiers_and_unique() {
        for prefix in ["", "Orders-Test", "9lives", "a".repeat(200).as_str(), "ünï"] {
            let a = unique_name(prefix);
            let b = unique_name(prefix);
            assert_ne!(a, b);
            assert!(a.len() <= 63, "{a}");
            assert!(a
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            assert!(a.starts_with(|c: char| c.is_ascii_lowercase() || c == '_'));
        }
        assert!(unique_name("slot").starts_with("slot_"));
    }
}
