//! The MariaDB/MySQL statement forms sqlparser's MySQL dialect does not take, brought into a
//! form it does take, on a small lexer that knows MySQL's quoting.
//!
//! - CREATE TABLE: the table options after the column list (`PAGE_CHECKSUM=1`, `PARTITION BY`,
//!   `WITH SYSTEM VERSIONING`, ...) are read here for the character set and cut off.
//! - ALTER TABLE: split into its clauses, each parsed on its own, so that table options
//!   (`ENGINE=`, `CONVERT TO CHARACTER SET`, `DEFAULT CHARSET=`), `IF [NOT] EXISTS`,
//!   `ADD COLUMN (a INT, b INT)` and `RENAME t2` are handled and index/partition clauses the
//!   parser lacks are skipped rather than failing the statement.
//! - Column definitions: `CHARSET x`, `NATIONAL VARCHAR`, `NCHAR VARCHAR`, `VARCHAR(n) BINARY`.
//! - ALTER DATABASE ... CHARACTER SET.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Word,
    Quoted,
    Str,
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    kind: T,
    start: usize,
    end: usize,
}

impl Tok {
    fn text<'a>(&self, sql: &'a str) -> &'a str {
        &sql[self.start..self.end]
    }

    fn is(&self, sql: &str, keyword: &str) -> bool {
        self.kind == T::Word && self.text(sql).eq_ignore_ascii_case(keyword)
    }

    fn is_any(&self, sql: &str, keywords: &[&str]) -> bool {
        keywords.iter().any(|k| self.is(sql, k))
    }

    /// An identifier's name: backquotes removed.
    fn name(&self, sql: &str) -> String {
        match self.kind {
            T::Quoted => unquote_ident(self.text(sql)),
            _ => self.text(sql).to_string(),
        }
    }
}

/// Tokens of `sql` (comments already removed by `clean_sql`). Never fails: an unterminated
/// quote runs to the end of the text and the parser reports it.
fn lex(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let kind = if c == b'\'' || c == b'"' || c == b'`' {
            i += 1;
            while i < b.len() {
                if b[i] == b'\\' && c != b'`' {
                    i += 2;
                    continue;
                }
                if b[i] == c {
                    if b.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            if c == b'`' {
                T::Quoted
            } else {
                T::Str
            }
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 {
            while i < b.len()
                && (b[i].is_ascii_alphanumeric()
                    || b[i] == b'_'
                    || b[i] == b'$'
                    || b[i] >= 0x80
                    // 1.5, 1e10 stay one token
                    || (b[i] == b'.' && b[start].is_ascii_digit()))
            {
                i += 1;
            }
            T::Word
        } else {
            i += 1;
            T::Punct(c)
        };
        toks.push(Tok {
            kind,
            start,
            end: i.min(b.len()),
        });
    }
    toks
}

/// Top-level comma-separated ranges of `toks` (parentheses nest).
fn split_commas(toks: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            T::Punct(b'(') => depth += 1,
            T::Punct(b')') => depth -= 1,
            T::Punct(b',') if depth == 0 => {
                parts.push(&toks[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts.retain(|p| !p.is_empty());
    parts
}

/// Index of the `)` closing the `(` at `open`.
fn matching_paren(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            T::Punct(b'(') => depth += 1,
            T::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Words that may precede a character type's `BINARY`/`CHARSET` attribute.
const CHAR_TYPES: &[&str] = &[
    "CHAR",
    "CHARACTER",
    "VARCHAR",
    "VARCHAR2",
    "NCHAR",
    "NVARCHAR",
    "TEXT",
    "TINYTEXT",
    "MEDIUMTEXT",
    "LONGTEXT",
    "ENUM",
    "SET",
];

/// The text of `toks` with column-definition spellings the parser lacks rewritten.
fn render(sql: &str, toks: &[Tok]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        let prev = i.checked_sub(1).map(|p| toks[p]);
        let after_name = prev.is_some_and(|p| !matches!(p.kind, T::Punct(b'(' | b',')));
        let piece: Option<&str> = if t.is(sql, "CHARSET") && after_name {
            Some("CHARACTER SET")
        } else if t.is(sql, "NATIONAL")
            && toks
                .get(i + 1)
                .is_some_and(|n| n.is_any(sql, &["VARCHAR", "CHAR", "CHARACTER"]))
        {
            let next = toks[i + 1];
            let varying =
                next.is(sql, "VARCHAR") || toks.get(i + 2).is_some_and(|n| n.is(sql, "VARYING"));
            i += if varying && !next.is(sql, "VARCHAR") {
                2
            } else {
                1
            };
            Some(if varying { "NVARCHAR" } else { "NCHAR" })
        } else if t.is(sql, "NCHAR") && toks.get(i + 1).is_some_and(|n| n.is(sql, "VARCHAR")) {
            i += 1;
            Some("NVARCHAR")
        } else if t.is(sql, "BINARY") && binary_attribute(sql, toks, i) {
            Some("")
        } else {
            None
        };
        if prev.is_some_and(|p| p.end < t.start) {
            out.push(' ');
        }
        match piece {
            Some(p) => out.push_str(p),
            None => out.push_str(t.text(sql)),
        }
        i += 1;
    }
    out
}

/// Whether the `BINARY` at `i` is a character type's attribute (`VARCHAR(10) BINARY`,
/// `TEXT BINARY`) rather than the `BINARY(n)` type.
fn binary_attribute(sql: &str, toks: &[Tok], i: usize) -> bool {
    let Some(p) = i.checked_sub(1) else {
        return false;
    };
    let prev = toks[p];
    let type_word = if prev.kind == T::Punct(b')') {
        // Walk back to the type word before `(n)`.
        let mut depth = 0;
        let mut j = p;
        loop {
            match toks[j].kind {
                T::Punct(b')') => depth += 1,
                T::Punct(b'(') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            if j == 0 {
                return false;
            }
            j -= 1;
        }
        match j.checked_sub(1) {
            Some(k) => toks[k],
            None => return false,
        }
    } else {
        prev
    };
    if !type_word.is_any(sql, CHAR_TYPES) {
        return false;
    }
    // `text BINARY(16)`: a column named `text` of type BINARY.
    !matches!(toks.get(i + 1), Some(t) if t.kind == T::Punct(b'('))
}

/// The CREATE TABLE statement without its table options, and the options that matter.
pub(super) fn create_table(ctx: &Ctx, sql: &str) -> Result<(String, TableOptions), DdlError> {
    let toks = lex(sql);
    let Some(open) = toks.iter().position(|t| t.kind == T::Punct(b'(')) else {
        // CREATE TABLE a LIKE b
        return Ok((sql.to_string(), TableOptions::default()));
    };
    // `CREATE TABLE a LIKE b` has no parenthesis before LIKE; `( LIKE b )` is handled by the
    // parser, as is everything up to the closing parenthesis.
    if toks[..open].iter().any(|t| t.is(sql, "LIKE")) {
        return Ok((sql.to_string(), TableOptions::default()));
    }
    let Some(close) = matching_paren(&toks, open) else {
        return Ok((sql.to_string(), TableOptions::default()));
    };
    // `CREATE TABLE a (LIKE b)`, which the dialect reads as a column named LIKE.
    if toks.get(open + 1).is_some_and(|t| t.is(sql, "LIKE")) && open + 2 < close {
        let text = format!(
            "{} LIKE {}",
            &sql[..toks[open].start],
            &sql[toks[open + 2].start..toks[close].start]
        );
        return Ok((text, TableOptions::default()));
    }
    let tail = &toks[close + 1..];
    if tail
        .iter()
        .any(|t| t.is_any(sql, &["SELECT", "AS", "IGNORE", "REPLACE"]))
    {
        return Err(DdlError::Unsupported {
            statement: ctx.statement.clone(),
            what: "CREATE TABLE ... SELECT: the columns come from the query; capture the table from a snapshot (SHOW CREATE TABLE) instead".into(),
        });
    }
    let mut text = String::from(&sql[..toks[open].start]);
    text.push('(');
    text.push_str(&render(sql, &toks[open + 1..close]));
    text.push(')');
    Ok((text, options(sql, tail)))
}

/// `[DEFAULT] CHARACTER SET|CHARSET [=] x` and `[DEFAULT] COLLATE [=] y` among table options.
fn options(sql: &str, toks: &[Tok]) -> TableOptions {
    let mut out = TableOptions::default();
    let mut collation = None;
    let mut i = 0;
    let value_after = |mut j: usize| -> Option<(String, usize)> {
        if toks.get(j).is_some_and(|t| t.kind == T::Punct(b'=')) {
            j += 1;
        }
        let t = toks.get(j)?;
        let v = match t.kind {
            T::Str => t
                .text(sql)
                .trim_matches(|c| c == '\'' || c == '"')
                .to_string(),
            _ => t.name(sql),
        };
        Some((v, j + 1))
    };
    while i < toks.len() {
        let t = toks[i];
        if t.is(sql, "CHARSET")
            || (t.is(sql, "CHARACTER") && toks.get(i + 1).is_some_and(|n| n.is(sql, "SET")))
        {
            let j = if t.is(sql, "CHARSET") { i + 1 } else { i + 2 };
            if let Some((v, next)) = value_after(j) {
                if !v.eq_ignore_ascii_case("DEFAULT") {
                    out.charset = Some(normalize_charset(&v));
                }
                i = next;
                continue;
            }
        } else if t.is(sql, "COLLATE") {
            if let Some((v, next)) = value_after(i + 1) {
                collation = Some(charset_of_collation(&v));
                i = next;
                continue;
            }
        }
        i += 1;
    }
    if out.charset.is_none() {
        out.charset = collation;
    }
    out
}

/// Clause-leading words of ALTER TABLE clauses that never change columns or the primary key;
/// skipped when the parser does not know them.
const NO_SHAPE_CHANGE: &[&str] = &[
    "ENGINE",
    "ALGORITHM",
    "LOCK",
    "COMMENT",
    "FORCE",
    "ROW_FORMAT",
    "KEY_BLOCK_SIZE",
    "STATS_PERSISTENT",
    "STATS_AUTO_RECALC",
    "STATS_SAMPLE_PAGES",
    "PAGE_CHECKSUM",
    "PAGE_COMPRESSED",
    "PAGE_COMPRESSION_LEVEL",
    "TRANSACTIONAL",
    "CHECKSUM",
    "TABLE_CHECKSUM",
    "DELAY_KEY_WRITE",
    "PACK_KEYS",
    "MAX_ROWS",
    "MIN_ROWS",
    "AVG_ROW_LENGTH",
    "AUTO_INCREMENT",
    "ORDER",
    "ENABLE",
    "DISABLE",
    "DISCARD",
    "IMPORT",
    "COALESCE",
    "REORGANIZE",
    "EXCHANGE",
    "ANALYZE",
    "CHECK",
    "OPTIMIZE",
    "REBUILD",
    "REPAIR",
    "REMOVE",
    "PARTITION",
    "TRUNCATE",
    "ENCRYPTED",
    "ENCRYPTION",
    "ENCRYPTION_KEY_ID",
    "IETF_QUOTES",
    "SEQUENCE",
    "UNION",
    "INSERT_METHOD",
    "DATA",
    "INDEX",
    "CONNECTION",
    "PASSWORD",
    "TABLESPACE",
    "STORAGE",
    "WITH",
    "WITHOUT",
    "NOWAIT",
    "WAIT",
    "SECONDARY_ENGINE",
    "COMPRESSION",
];

/// What follows ADD / DROP / ALTER / RENAME in clauses that never change columns or the key.
const NO_SHAPE_OBJECTS: &[&str] = &[
    "INDEX",
    "KEY",
    "FULLTEXT",
    "SPATIAL",
    "UNIQUE",
    "FOREIGN",
    "CHECK",
    "PARTITION",
    "PERIOD",
    "SYSTEM",
];

/// Apply ALTER TABLE clause by clause.
pub(super) fn alter_table(
    schema: &mut Schema,
    ctx: &Ctx,
    sql: &str,
) -> Result<Vec<TableChange>, DdlError> {
    let toks = lex(sql);
    let mut i = 0;
    // ALTER [ONLINE|OFFLINE] [IGNORE] TABLE [IF EXISTS]
    while i < toks.len() && !toks[i].is(sql, "TABLE") {
        i += 1;
    }
    i += 1;
    if toks.get(i).is_some_and(|t| t.is(sql, "IF"))
        && toks.get(i + 1).is_some_and(|t| t.is(sql, "EXISTS"))
    {
        i += 2;
    }
    // The table name: ident [. ident]
    let mut parts = Vec::new();
    let name_start = i;
    while let Some(t) = toks.get(i) {
        match t.kind {
            T::Word | T::Quoted => parts.push(t.name(sql)),
            _ => break,
        }
        i += 1;
        if toks.get(i).is_some_and(|t| t.kind == T::Punct(b'.')) {
            i += 1;
        } else {
            break;
        }
    }
    if parts.is_empty() {
        return Err(DdlError::Unsupported {
            statement: ctx.statement.clone(),
            what: "ALTER TABLE without a table name".into(),
        });
    }
    let name_text = &sql[toks[name_start].start..toks[i - 1].end];
    let (db, name) = ctx.qualify_parts(&parts)?;
    let Some(existing) = schema.table(&db, &name) else {
        // Debezium ignores ALTER of a table it does not know; rows of such a table fail
        // later with an unknown-table error, which the connector's modes handle.
        return Ok(Vec::new());
    };
    let mut table = TableDef::clone(existing);
    let mut rest = &toks[i..];
    if let Some(end) = rest.iter().position(|t| t.kind == T::Punct(b';')) {
        rest = &rest[..end];
    }
    for clause in split_commas(rest) {
        alter_clause(ctx, sql, name_text, &mut table, clause)?;
    }
    finish_table(ctx, &mut table)?;
    let old = (db.clone(), name.clone());
    if (table.database.as_str(), table.name.as_str()) != (db.as_str(), name.as_str()) {
        if let Some(database) = schema.databases.get_mut(&db) {
            database.tables.remove(&name);
        }
    }
    let table = schema.insert_table(table);
    Ok(vec![TableChange::Alter { old, table }])
}

fn alter_clause(
    ctx: &Ctx,
    sql: &str,
    name_text: &str,
    table: &mut TableDef,
    clause: &[Tok],
) -> Result<(), DdlError> {
    let word = |i: usize| clause.get(i).filter(|t| t.kind == T::Word);
    let is = |i: usize, k: &str| word(i).is_some_and(|t| t.is(sql, k));
    let is_any = |i: usize, k: &[&str]| word(i).is_some_and(|t| t.is_any(sql, k));

    // CONVERT TO CHARACTER SET x [COLLATE y]
    if is(0, "CONVERT") {
        let opts = options(sql, clause);
        if let Some(charset) = opts.charset {
            for column in table.columns.iter_mut().filter(|c| c.is_character()) {
                if let Some(from) = &column.charset {
                    if let Some(wider) = converted_text_type(&column.type_name, from, &charset) {
                        column.type_name = wider.to_string();
                    }
                }
                column.charset = Some(charset.clone());
            }
            table.charset = Some(charset);
        }
        return Ok(());
    }
    // [DEFAULT] CHARACTER SET / CHARSET / COLLATE
    let o = usize::from(is(0, "DEFAULT"));
    if is_any(o, &["CHARACTER", "CHARSET", "COLLATE"]) {
        if let Some(charset) = options(sql, clause).charset {
            table.charset = Some(charset);
        }
        return Ok(());
    }
    // ADD/DROP/MODIFY/CHANGE [COLUMN] IF [NOT] EXISTS
    let mut owned: Vec<Tok>;
    let mut clause = clause;
    let mut if_exists = false;
    let mut if_not_exists = false;
    if is_any(0, &["ADD", "DROP", "MODIFY", "CHANGE"]) {
        let k = 1 + usize::from(is(1, "COLUMN"));
        if is(k, "IF") && is(k + 1, "NOT") && is(k + 2, "EXISTS") {
            if_not_exists = true;
            owned = clause.to_vec();
            owned.drain(k..k + 3);
            clause = owned.as_slice();
        } else if is(k, "IF") && is(k + 1, "EXISTS") {
            if_exists = true;
            owned = clause.to_vec();
            owned.drain(k..k + 2);
            clause = owned.as_slice();
        }
    }
    let word = |i: usize| clause.get(i).filter(|t| t.kind == T::Word);
    let is = |i: usize, k: &str| word(i).is_some_and(|t| t.is(sql, k));
    let is_any = |i: usize, k: &[&str]| word(i).is_some_and(|t| t.is_any(sql, k));

    // ADD [COLUMN] (def, def, ...)
    if is(0, "ADD") {
        let k = 1 + usize::from(is(1, "COLUMN"));
        if clause.get(k).is_some_and(|t| t.kind == T::Punct(b'(')) {
            if let Some(close) = matching_paren(clause, k) {
                for def in split_commas(&clause[k + 1..close]) {
                    let constraint = def.first().is_some_and(|t| {
                        t.is_any(
                            sql,
                            &[
                                "PRIMARY",
                                "KEY",
                                "INDEX",
                                "UNIQUE",
                                "CONSTRAINT",
                                "FOREIGN",
                                "FULLTEXT",
                                "SPATIAL",
                                "CHECK",
                            ],
                        )
                    });
                    let prefix = if constraint { "ADD" } else { "ADD COLUMN" };
                    let text = format!("{prefix} {}", render(sql, def));
                    parsed_clause(ctx, name_text, table, &text, if_not_exists, if_exists)?;
                }
                return Ok(());
            }
        }
    }
    // RENAME new_name (MariaDB's short form of RENAME TO)
    if is(0, "RENAME") && !is_any(1, &["TO", "AS", "COLUMN", "INDEX", "KEY"]) {
        let text = format!("RENAME TO {}", render(sql, &clause[1..]));
        return parsed_clause(ctx, name_text, table, &text, false, false);
    }
    // Clauses known not to change columns or the key, whether or not the parser knows them.
    if is_any(0, NO_SHAPE_CHANGE)
        || (is_any(0, &["ADD", "DROP", "ALTER", "RENAME"]) && is_any(1, NO_SHAPE_OBJECTS))
        || (is(0, "ADD") && is(1, "CONSTRAINT") && !clause.iter().any(|t| t.is(sql, "PRIMARY")))
        || (is(0, "DROP") && is(1, "CONSTRAINT"))
    {
        return Ok(());
    }
    let text = render(sql, clause);
    parsed_clause(ctx, name_text, table, &text, if_not_exists, if_exists)
}

/// Parse `ALTER TABLE <name> <clause>` and apply its operations.
fn parsed_clause(
    ctx: &Ctx,
    name_text: &str,
    table: &mut TableDef,
    clause: &str,
    if_not_exists: bool,
    if_exists: bool,
) -> Result<(), DdlError> {
    let statement = parse_one(ctx, &format!("ALTER TABLE {name_text} {clause}"))?;
    let Statement::AlterTable(alter) = statement else {
        return Ok(());
    };
    for op in alter.operations {
        let skip = match &op {
            AlterTableOperation::AddColumn { column_def, .. } => {
                if_not_exists && find_column(table, &column_def.name.value).is_some()
            }
            AlterTableOperation::DropColumn { column_names, .. } => {
                if_exists
                    && column_names
                        .iter()
                        .all(|c| find_column(table, &c.value).is_none())
            }
            AlterTableOperation::ModifyColumn { col_name, .. } => {
                if_exists && find_column(table, &col_name.value).is_none()
            }
            AlterTableOperation::ChangeColumn { old_name, .. } => {
                if_exists && find_column(table, &old_name.value).is_none()
            }
            _ => false,
        };
        if !skip {
            alter_op(ctx, table, op)?;
        }
    }
    Ok(())
}

/// `ALTER DATABASE|SCHEMA [name] [DEFAULT] CHARACTER SET [=] x [COLLATE y]`.
pub(super) fn alter_database(schema: &mut Schema, ctx: &Ctx, sql: &str) {
    let toks = lex(sql);
    let Some(k) = toks
        .iter()
        .position(|t| t.is_any(sql, &["DATABASE", "SCHEMA"]))
    else {
        return;
    };
    let name = match toks.get(k + 1) {
        Some(t)
            if !t.is_any(
                sql,
                &["DEFAULT", "CHARACTER", "CHARSET", "COLLATE", "UPGRADE"],
            ) && matches!(t.kind, T::Word | T::Quoted) =>
        {
            t.name(sql)
        }
        _ => ctx.default_db.clone(),
    };
    if name.is_empty() {
        return;
    }
    if let Some(charset) = options(sql, &toks[k + 1..]).charset {
        schema.databases.entry(name).or_default().charset = Some(charset);
    }
}
