//! Which schemas, tables, columns and logical-decoding message prefixes a connector
//! captures, from Debezium's `*.include.list` / `*.exclude.list` properties.
//!
//! Debezium semantics, kept here:
//! - each list is comma-separated regular expressions (`\,` is a literal comma);
//! - a pattern must match the *whole* name and matching ignores case;
//! - tables are named `schema.table`, columns `schema.table.column`;
//! - a table must pass both the schema filter and the table filter;
//! - include and exclude lists of the same kind may not both be set;
//! - with `table.ignore.builtin` (default true), `pg_catalog`, `information_schema`, `pg_temp*`
//!   schemas and the PostGIS `spatial_ref_sys` table are never captured.
//!
//! The regular expressions are Rust `regex` syntax: Java's look-around and back-references
//! are rejected with an error naming the key.

use regex::{Regex, RegexBuilder};

use crate::keys::KeyReader;

/// `schema.include.list`.
pub const SCHEMA_INCLUDE_LIST: &str = "schema.include.list";
/// `schema.exclude.list`.
pub const SCHEMA_EXCLUDE_LIST: &str = "schema.exclude.list";
/// `table.include.list`.
pub const TABLE_INCLUDE_LIST: &str = "table.include.list";
/// `table.exclude.list`.
pub const TABLE_EXCLUDE_LIST: &str = "table.exclude.list";
/// `column.include.list`.
pub const COLUMN_INCLUDE_LIST: &str = "column.include.list";
/// `column.exclude.list`.
pub const COLUMN_EXCLUDE_LIST: &str = "column.exclude.list";
/// `message.prefix.include.list`.
pub const MESSAGE_PREFIX_INCLUDE_LIST: &str = "message.prefix.include.list";
/// `message.prefix.exclude.list`.
pub const MESSAGE_PREFIX_EXCLUDE_LIST: &str = "message.prefix.exclude.list";
/// `table.ignore.builtin`.
pub const TABLE_IGNORE_BUILTIN: &str = "table.ignore.builtin";

/// Default of `table.ignore.builtin`: system schemas and tables are never captured.
pub const DEFAULT_TABLE_IGNORE_BUILTIN: bool = true;

/// Schemas Debezium treats as built-in (compared lowercase).
const SYSTEM_SCHEMAS: &[&str] = &["pg_catalog", "information_schema"];
/// Tables that extensions put in user schemas but that are system tables.
const SYSTEM_TABLES: &[&str] = &["spatial_ref_sys"];
/// Prefix of per-session temporary-table schemas.
const TEMP_SCHEMA_PREFIX: &str = "pg_temp";

/// One include-or-exclude list.
#[derive(Debug, Clone, Default)]
pub enum NameFilter {
    /// Neither list set: everything passes.
    #[default]
    All,
    /// Only names matching one of these pass.
    Include(Vec<Regex>),
    /// Names matching one of these are dropped.
    Exclude(Vec<Regex>),
}

impl NameFilter {
    /// Whether `name` passes this filter.
    pub fn admits(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Include(patterns) => patterns.iter().any(|p| p.is_match(name)),
            Self::Exclude(patterns) => !patterns.iter().any(|p| p.is_match(name)),
        }
    }

    /// Whether the include pattern at `index` matches `name` (for ordering by include list;
    /// always false for exclude lists).
    pub fn include_pattern_matches(&self, index: usize, name: &str) -> bool {
        match self {
            Self::Include(patterns) => patterns.get(index).is_some_and(|p| p.is_match(name)),
            Self::All | Self::Exclude(_) => false,
        }
    }

    /// The original patterns, as the user wrote them.
    pub fn patterns(&self) -> Vec<&str> {
        match self {
            Self::All => Vec::new(),
            Self::Include(p) | Self::Exclude(p) => p.iter().map(original_pattern).collect(),
        }
    }
}

/// The capture filters of a Postgres connector. `Default` captures everything except
/// built-in tables.
#[derive(Debug, Clone)]
pub struct Filters {
    /// `schema.include.list` / `schema.exclude.list`, matched against the schema name.
    pub schema: NameFilter,
    /// `table.include.list` / `table.exclude.list`, matched against `schema.table`.
    pub table: NameFilter,
    /// `column.include.list` / `column.exclude.list`, matched against `schema.table.column`.
    pub column: NameFilter,
    /// `message.prefix.include.list` / `message.prefix.exclude.list`, matched against the
    /// prefix of a logical decoding message (`pg_logical_emit_message`).
    pub message_prefix: NameFilter,
    /// `table.ignore.builtin`.
    pub ignore_builtin: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Self {
            schema: NameFilter::All,
            table: NameFilter::All,
            column: NameFilter::All,
            message_prefix: NameFilter::All,
            ignore_builtin: DEFAULT_TABLE_IGNORE_BUILTIN,
        }
    }
}

impl Filters {
    /// Whether changes to `schema.table` are captured.
    pub fn include_table(&self, schema: &str, table: &str) -> bool {
        if self.ignore_builtin && is_builtin(schema, table) {
            return false;
        }
        self.schema.admits(schema) && self.table.admits(&format!("{schema}.{table}"))
    }

    /// Whether `column` of `schema.table` appears in change events. Independent of
    /// [`Filters::include_table`], as in Debezium.
    pub fn include_column(&self, schema: &str, table: &str, column: &str) -> bool {
        self.column.admits(&format!("{schema}.{table}.{column}"))
    }

    /// Whether a logical decoding message with this prefix is captured.
    pub fn include_message_prefix(&self, prefix: &str) -> bool {
        self.message_prefix.admits(prefix)
    }

    pub(crate) fn read(reader: &mut KeyReader<'_>) -> Self {
        Self {
            schema: read_pair(reader, SCHEMA_INCLUDE_LIST, SCHEMA_EXCLUDE_LIST),
            table: read_pair(reader, TABLE_INCLUDE_LIST, TABLE_EXCLUDE_LIST),
            column: read_pair(reader, COLUMN_INCLUDE_LIST, COLUMN_EXCLUDE_LIST),
            message_prefix: read_pair(
                reader,
                MESSAGE_PREFIX_INCLUDE_LIST,
                MESSAGE_PREFIX_EXCLUDE_LIST,
            ),
            ignore_builtin: reader.bool(TABLE_IGNORE_BUILTIN, DEFAULT_TABLE_IGNORE_BUILTIN),
        }
    }
}

fn is_builtin(schema: &str, table: &str) -> bool {
    let schema = schema.to_ascii_lowercase();
    SYSTEM_SCHEMAS.contains(&schema.as_str())
        || schema.starts_with(TEMP_SCHEMA_PREFIX)
        || SYSTEM_TABLES.contains(&table.to_ascii_lowercase().as_str())
}

/// An include-only list (e.g. `snapshot.include.collection.list`); absent: everything passes.
pub(crate) fn read_include(reader: &mut KeyReader<'_>, key: &'static str) -> NameFilter {
    match reader.raw(key) {
        Some(list) => compile_list(reader, key, list).map_or(NameFilter::All, NameFilter::Include),
        None => NameFilter::All,
    }
}

pub(crate) fn read_pair(
    reader: &mut KeyReader<'_>,
    include_key: &'static str,
    exclude_key: &'static str,
) -> NameFilter {
    let include = reader.raw(include_key);
    let exclude = reader.raw(exclude_key);
    match (include, exclude) {
        (Some(_), Some(_)) => {
            reader.error(
                exclude_key,
                format!(
                    "{exclude_key} cannot be used together with {include_key}: keep only one of them"
                ),
            );
            NameFilter::All
        }
        (Some(list), None) => {
            compile_list(reader, include_key, list).map_or(NameFilter::All, NameFilter::Include)
        }
        (None, Some(list)) => {
            compile_list(reader, exclude_key, list).map_or(NameFilter::All, NameFilter::Exclude)
        }
        (None, None) => NameFilter::All,
    }
}

/// Compiles every pattern of a list, reporting each bad one.
fn compile_list(reader: &mut KeyReader<'_>, key: &str, list: &str) -> Option<Vec<Regex>> {
    let mut compiled = Vec::new();
    let mut ok = true;
    for pattern in split_regex_list(list) {
        match compile(&pattern) {
            Ok(regex) => compiled.push(regex),
            Err(error) => {
                ok = false;
                let reason = match error {
                    regex::Error::Syntax(s) => s
                        .lines()
                        .filter(|l| l.starts_with("error:"))
                        .map(|l| l.trim_start_matches("error:").trim().to_owned())
                        .next()
                        .unwrap_or(s),
                    other => other.to_string(),
                };
                reader.error(
                    key,
                    format!(
                        "invalid regular expression \"{pattern}\" in {key}: {reason} (look-around and back-references are not supported)"
                    ),
                );
            }
        }
    }
    ok.then_some(compiled)
}

/// Anchors like Java's `Matcher::matches` and ignores case like Debezium's filters. The
/// wrapper is a plain non-capturing group, so [`original_pattern`] can strip it again.
fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .case_insensitive(true)
        .build()
}

fn original_pattern(regex: &Regex) -> &str {
    let s = regex.as_str();
    s.strip_prefix("^(?:")
        .and_then(|s| s.strip_suffix(")$"))
        .unwrap_or(s)
}

/// Splits a Debezium regex list at commas not escaped as `\,`; trims each part and drops
/// empty ones.
pub(crate) fn split_regex_list(list: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(',') => current.push(','),
                Some(next) => {
                    current.push('\\');
                    current.push(next);
                }
                None => current.push('\\'),
            },
            ',' => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn filters(pairs: &[(&str, &str)]) -> Result<Filters, Vec<String>> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut reader = KeyReader::new(&map);
        let f = Filters::read(&mut reader);
        let known = crate::keys::KnownKeys {
            exact: &[],
            prefixes: &[],
            dynamic_prefixes: Vec::new(),
            renamed: &[],
        };
        match reader.finish(&known) {
            Ok(_) => Ok(f),
            Err(e) => Err(e.errors.into_iter().map(|e| e.message).collect()),
        }
    }

    #[test]
    fn default_captures_user_tables_only() {
        let f = Filters::default();
        assert!(f.include_table("public", "orders"));
        assert!(!f.include_table("pg_catalog", "pg_class"));
        assert!(!f.include_table("INFORMATION_SCHEMA", "tables"));
        assert!(!f.include_table("pg_temp_3", "t"));
        assert!(!f.include_table("public", "spatial_ref_sys"));
        assert!(f.include_column("public", "orders", "id"));
        assert!(f.include_message_prefix("anything"));
    }

    #[test]
    fn builtin_can_be_included() {
        let f = filters(&[("table.ignore.builtin", "false")]).expect("valid");
        assert!(f.include_table("pg_catalog", "pg_class"));
    }

    #[test]
    fn table_include_is_anchored_and_case_insensitive() {
        let f =
            filters(&[("table.include.list", "public.customers, inventory\\..*")]).expect("valid");
        assert!(f.include_table("public", "customers"));
        assert!(f.include_table("PUBLIC", "Customers"));
        assert!(!f.include_table("public", "customers_archive"));
        assert!(!f.include_table("xpublic", "customers"));
        assert!(f.include_table("inventory", "anything"));
        assert_eq!(
            f.table.patterns(),
            vec!["public.customers", "inventory\\..*"]
        );
    }

    #[test]
    fn table_exclude() {
        let f = filters(&[("table.exclude.list", "public\\.audit_.*")]).expect("valid");
        assert!(f.include_table("public", "orders"));
        assert!(!f.include_table("public", "audit_log"));
    }

    #[test]
    fn schema_and_table_filters_combine() {
        let f = filters(&[
            ("schema.include.list", "public"),
            ("table.exclude.list", "public.secret"),
        ])
        .expect("valid");
        assert!(f.include_table("public", "orders"));
        assert!(!f.include_table("public", "secret"));
        assert!(!f.include_table("other", "orders"));
    }

    #[test]
    fn columns_and_message_prefixes() {
        let f = filters(&[
            ("column.exclude.list", "public.users.(password|ssn)"),
            ("message.prefix.include.list", "audit.*,billing"),
        ])
        .expect("valid");
        assert!(f.include_column("public", "users", "email"));
        assert!(!f.include_column("public", "users", "password"));
        assert!(!f.include_column("public", "users", "SSN"));
        assert!(f.include_message_prefix("audit-v1"));
        assert!(f.include_message_prefix("billing"));
        assert!(!f.include_message_prefix("billing2"));
    }

    #[test]
    fn include_and_exclude_together_is_an_error() {
        let errors = filters(&[
            ("table.include.list", "a.b"),
            ("table.exclude.list", "a.c"),
            ("column.include.list", "a.b.c"),
            ("column.exclude.list", "a.b.d"),
        ])
        .expect_err("conflict");
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0],
            "table.exclude.list cannot be used together with table.include.list: keep only one of them"
        );
        assert_eq!(
            errors[1],
            "column.exclude.list cannot be used together with column.include.list: keep only one of them"
        );
    }

    #[test]
    fn invalid_regex_names_key_and_pattern() {
        let errors = filters(&[("table.include.list", "public.ok,public.(bad")]).expect_err("bad");
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .starts_with("invalid regular expression \"public.(bad\" in table.include.list"),
            "{}",
            errors[0]
        );
        let errors = filters(&[("schema.include.list", "(?=x)")]).expect_err("look-ahead");
        assert!(errors[0].contains("schema.include.list"));
    }

    #[test]
    fn escaped_comma_is_literal() {
        assert_eq!(
            split_regex_list("a\\,b, c ,,\\d+"),
            vec!["a,b", "c", "\\d+"]
        );
        let f = filters(&[("message.prefix.include.list", "a\\,b")]).expect("valid");
        assert!(f.include_message_prefix("a,b"));
    }
}
