//! What the replication stream does not say about a table, read from the system catalogs:
//! primary key, nullability, column defaults, and the real types behind domains, enums and
//! extension types.
//!
//! Read when a `Relation` message arrives (at start and after every schema change), over an
//! ordinary SQL connection; never on the per-row path.

use std::collections::HashMap;

use sluice_decoders::pgvalue::PgType;
use tokio_postgres::Client;

use super::mapping::ColumnType;

/// One column as the catalog describes it.
#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub name: String,
    pub ty: ColumnType,
    pub not_null: bool,
    /// The default's literal text (`true`, `42`, `abc`) when the default is a constant.
    pub default_literal: Option<String>,
}

/// A table's shape beyond what pgoutput's `Relation` message carries.
#[derive(Debug, Clone)]
pub struct TableInfo {
    pub columns: Vec<ColumnInfo>,
    /// Primary-key columns in key order (else the replica-identity index's); empty: no key.
    pub key_columns: Vec<String>,
}

const COLUMNS_SQL: &str = "\
SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum";

const KEY_SQL: &str = "\
SELECT a.attname
  FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
 WHERE i.indrelid = $1
   AND i.indexrelid = (SELECT i2.indexrelid FROM pg_index i2
                        WHERE i2.indrelid = $1 AND (i2.indisprimary OR i2.indisreplident)
                        ORDER BY i2.indisprimary DESC LIMIT 1)
 ORDER BY array_position(i.indkey::int2[], a.attnum)";

const TYPE_SQL: &str = "\
SELECT t.typname::text, t.typtype::text, t.typbasetype, t.typtypmod, t.typelem, t.typcategory::text,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
  FROM pg_type t WHERE t.oid = $1";

/// Resolved non-built-in types, by OID.
#[derive(Debug, Default)]
pub struct TypeCache {
    types: HashMap<u32, (PgType, Vec<String>, String, i32)>,
}

/// Load a table's columns and key. `None` when the table no longer exists.
pub async fn load_table(
    client: &Client,
    relation_id: u32,
    types: &mut TypeCache,
) -> Result<Option<TableInfo>, tokio_postgres::Error> {
    let rows = client.query(COLUMNS_SQL, &[&relation_id]).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::with_capacity(rows.len());
    for row in rows {
        let type_oid: u32 = row.get(1);
        let typmod: i32 = row.get(2);
        let default_expr: Option<String> = row.get(4);
        columns.push(ColumnInfo {
            name: row.get(0),
            ty: resolve_type(client, type_oid, typmod, types).await?,
            not_null: row.get(3),
            default_literal: default_expr.as_deref().and_then(constant_literal),
        });
    }
    let key_columns = client
        .query(KEY_SQL, &[&relation_id])
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    Ok(Some(TableInfo {
        columns,
        key_columns,
    }))
}

/// Resolve a column type: built-ins directly, domains to their base type, enums with labels,
/// arrays to their element, known extension types by name, anything else `Unknown`.
pub async fn resolve_type(
    client: &Client,
    oid: u32,
    typmod: i32,
    cache: &mut TypeCache,
) -> Result<ColumnType, tokio_postgres::Error> {
    if let Some(pg) = PgType::from_builtin_oid(oid) {
        return Ok(ColumnType {
            type_name: pg.name().to_string(),
            pg,
            typmod,
            enum_labels: Vec::new(),
        });
    }
    if let Some((pg, labels, name, base_typmod)) = cache.types.get(&oid) {
        return Ok(ColumnType {
            pg: pg.clone(),
            typmod: if typmod >= 0 { typmod } else { *base_typmod },
            enum_labels: labels.clone(),
            type_name: name.clone(),
        });
    }
    // Walk domains and array elements iteratively (bounded: catalogs have no cycles, but a
    // damaged one must not hang the connector).
    let mut current = oid;
    let mut array = false;
    let mut domain_typmod = -1;
    let mut resolved = None;
    let mut top_name = None;
    for _ in 0..16 {
        if let Some(pg) = PgType::from_builtin_oid(current) {
            resolved = Some((pg, Vec::new()));
            break;
        }
        let Some(row) = client.query_opt(TYPE_SQL, &[&current]).await? else {
            break;
        };
        let name: String = row.get(0);
        top_name.get_or_insert_with(|| name.clone());
        let typtype: String = row.get(1);
        let base: u32 = row.get(2);
        let base_typmod: i32 = row.get(3);
        let elem: u32 = row.get(4);
        let category: String = row.get(5);
        let labels: Option<Vec<String>> = row.get(6);
        match typtype.as_str() {
            "d" => {
                if domain_typmod < 0 {
                    domain_typmod = base_typmod;
                }
                current = base;
            }
            "e" => {
                resolved = Some((PgType::Enum, labels.unwrap_or_default()));
                break;
            }
            _ if category == "A" && elem != 0 && !array => {
                array = true;
                current = elem;
            }
            _ => {
                resolved = Some((
                    PgType::from_extension_name(&name).unwrap_or(PgType::Unknown),
                    Vec::new(),
                ));
                break;
            }
        }
    }
    let (element, labels) = resolved.unwrap_or((PgType::Unknown, Vec::new()));
    let pg = if array {
        PgType::Array(Box::new(element))
    } else {
        element
    };
    let name = top_name.unwrap_or_else(|| format!("oid {oid}"));
    cache.types.insert(
        oid,
        (pg.clone(), labels.clone(), name.clone(), domain_typmod),
    );
    Ok(ColumnType {
        pg,
        typmod: if typmod >= 0 { typmod } else { domain_typmod },
        enum_labels: labels,
        type_name: name,
    })
}

/// The literal of a constant default expression as `pg_get_expr` prints it:
/// `true`, `42`, `(-1)`, `'abc'::text`, `'2024-01-01'::date`. Anything else (function calls,
/// sequences) has no constant default.
fn constant_literal(expr: &str) -> Option<String> {
    let mut e = expr.trim();
    while e.starts_with('(') && e.ends_with(')') {
        e = e[1..e.len() - 1].trim();
    }
    if let Some(rest) = e.strip_prefix('\'') {
        let end = find_closing_quote(rest)?;
        let tail = rest[end + 1..].trim();
        let operator = tail.contains(['|', '+', '*', '/', '\'']) || tail.contains(" - ");
        if !(tail.is_empty() || tail.starts_with("::")) || operator {
            return None;
        }
        return Some(rest[..end].replace("''", "'"));
    }
    let looks_constant = e == "true"
        || e == "false"
        || (!e.is_empty()
            && e.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')));
    let e = e.split("::").next().unwrap_or(e).trim();
    looks_constant.then(|| e.to_string())
}

fn find_closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::constant_literal;

    #[test]
    fn constant_defaults_are_recognised() {
        assert_eq!(constant_literal("true").as_deref(), Some("true"));
        assert_eq!(constant_literal("42").as_deref(), Some("42"));
        assert_eq!(constant_literal("(-1)").as_deref(), Some("-1"));
        assert_eq!(constant_literal("'it''s'::text").as_deref(), Some("it's"));
        assert_eq!(
            constant_literal("'x'::character varying").as_deref(),
            Some("x")
        );
        assert_eq!(constant_literal("nextval('t_id_seq'::regclass)"), None);
        assert_eq!(constant_literal("now()"), None);
        assert_eq!(constant_literal("CURRENT_TIMESTAMP"), None);
    }
}
