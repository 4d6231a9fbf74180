//! SQL text the Postgres connector builds: quoting, and the keyset predicates that snapshot
//! chunks (initial and incremental) resume from.

use sluice_decoders::pgoutput::{ColumnValue, TupleData};

/// `"ident"`, with embedded quotes doubled.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `'literal'`, with embedded quotes doubled (standard_conforming_strings is on since 9.1).
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `(k1, k2) > ('v1', 'v2')`: rows after the key `values` in key order. Untyped literals take
/// the key columns' types.
pub fn keyset_after(key_list: &str, values: &[Option<String>]) -> String {
    let literals: Vec<String> = values
        .iter()
        .map(|v| {
            v.as_deref()
                .map_or_else(|| "NULL".to_string(), quote_literal)
        })
        .collect();
    format!("({key_list}) > ({})", literals.join(", "))
}

/// Text of the key columns (at `positions`) of a row read with COPY.
pub fn key_texts(tuple: &TupleData, positions: impl Iterator<Item = usize>) -> Vec<Option<String>> {
    positions
        .map(|i| match tuple.0.get(i) {
            Some(ColumnValue::Text(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_predicate_quotes_values() {
        assert_eq!(
            keyset_after("\"a\", \"b\"", &[Some("1".into()), Some("it's".into())]),
            "(\"a\", \"b\") > ('1', 'it''s')"
        );
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }
}
