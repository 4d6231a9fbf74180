//! The connector's in-memory schema of MySQL/MariaDB tables, kept current from the DDL in the
//! binlog.
//!
//! Row events carry column types but no names, keys or signedness, so the connector applies
//! every DDL statement of the binlog (and `SHOW CREATE TABLE` output at snapshot time) to a
//! [`Schema`] and decodes each row with the table's shape at that point in the log, as
//! Debezium's MySQL connector does.
//!
//! ```text
//!  QUERY event (db, ddl) --> clean (comments, /*! */) --> classify --> sqlparser (MySQL dialect)
//!                                                                    \-> focused fallback
//!        --> Schema (databases -> tables -> columns) --> Vec<TableChange> --> history, events
//! ```
//!
//! Names follow MariaDB on Linux (`lower_case_table_names=0`): database and table names are
//! case-sensitive, column names are not. Statements that define no table (transaction control,
//! grants, users, views, routines, triggers, DML) change nothing and return no change.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, CharacterLength, ColumnOption, CreateTableLikeKind,
    DataType, EnumMember, ExactNumberInfo, Expr, Ident, MySQLColumnPosition, ObjectName,
    ObjectNamePart, ObjectType, RenameTableNameKind, SqlOption, Statement, TableConstraint, Value,
};
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::{Parser, ParserError};

/// Longest piece of a statement quoted in an error message.
const STATEMENT_EXCERPT_CHARS: usize = 200;

/// All databases and their tables, as the DDL seen so far defines them. Cheap to clone: tables
/// are shared through `Arc`, so a decoder can keep the `TableDef` it decoded a row with.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    databases: BTreeMap<String, Database>,
    /// The database of the last `USE`, for statements applied without a default database.
    current: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Database {
    /// `CREATE DATABASE ... CHARACTER SET`; inherited by tables created without one.
    charset: Option<String>,
    tables: BTreeMap<String, Arc<TableDef>>,
}

/// One table's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub database: String,
    pub name: String,
    /// In table order; `position` is 1-based and equals the index + 1.
    pub columns: Vec<ColumnDef>,
    /// Primary key column names in key order, spelled as the columns are.
    pub primary_key: Vec<String>,
    /// The table's default character set (`DEFAULT CHARSET=`), if known.
    pub charset: Option<String>,
}

/// One column's definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    /// 1-based.
    pub position: u32,
    /// Upper-case base type: "INT", "VARCHAR", "DECIMAL", "ENUM", "TINYINT", "DATETIME", ...
    /// Synonyms are folded (`INTEGER` is "INT", `NUMERIC`/`DEC`/`FIXED` are "DECIMAL",
    /// `BOOL` is "BOOLEAN", `REAL`/`DOUBLE PRECISION` are "DOUBLE", `CHARACTER VARYING` is
    /// "VARCHAR").
    pub type_name: String,
    /// Display width, character/byte length, precision, or fractional seconds.
    pub length: Option<u64>,
    pub scale: Option<u32>,
    /// `UNSIGNED` (also implied by `ZEROFILL`).
    pub unsigned: bool,
    pub nullable: bool,
    pub auto_increment: bool,
    /// The default as Debezium's `defaultValueExpression`: string literals unquoted, numbers and
    /// functions as written (`CURRENT_TIMESTAMP` for its synonyms). `None` means no default or
    /// `DEFAULT NULL` (MariaDB gives a nullable column without a default `DEFAULT NULL`).
    pub default: Option<String>,
    /// The effective character set of a character column (explicit, else the table's), `None`
    /// for other types.
    pub charset: Option<String>,
    /// `ENUM` / `SET` members in order.
    pub enum_values: Vec<String>,
    /// `GENERATED ALWAYS AS (...)` / `AS (...)` virtual or stored columns.
    pub generated: bool,
    pub comment: Option<String>,
}

impl ColumnDef {
    /// Whether the type holds characters (has a character set).
    pub fn is_character(&self) -> bool {
        is_character_type(&self.type_name)
    }

    /// Debezium's `typeName` / `typeExpression`: the base type with ` UNSIGNED`.
    pub fn debezium_type_name(&self) -> String {
        if self.unsigned {
            format!("{} UNSIGNED", self.type_name)
        } else {
            self.type_name.clone()
        }
    }

    /// Debezium's `hasDefaultValue`: an explicit default, or the implicit `DEFAULT NULL` of a
    /// nullable column.
    pub fn has_default(&self) -> bool {
        self.default.is_some() || self.nullable
    }

    /// The `java.sql.Types` code Debezium's MySQL DDL parser gives this type (`jdbcType`).
    pub fn jdbc_type(&self) -> i32 {
        // java.sql.Types
        const BIT: i32 = -7;
        const SMALLINT: i32 = 5;
        const INTEGER: i32 = 4;
        const BIGINT: i32 = -5;
        const FLOAT: i32 = 6;
        const DOUBLE: i32 = 8;
        const DECIMAL: i32 = 3;
        const CHAR: i32 = 1;
        const VARCHAR: i32 = 12;
        const BINARY: i32 = -2;
        const VARBINARY: i32 = -3;
        const BLOB: i32 = 2004;
        const DATE: i32 = 91;
        const TIME: i32 = 92;
        const TIMESTAMP: i32 = 93;
        const TIMESTAMP_WITH_TIMEZONE: i32 = 2014;
        const BOOLEAN: i32 = 16;
        const OTHER: i32 = 1111;
        match self.type_name.as_str() {
            "BIT" => BIT,
            "TINYINT" | "SMALLINT" => SMALLINT,
            "MEDIUMINT" | "INT" | "YEAR" => INTEGER,
            "BIGINT" => BIGINT,
            "FLOAT" => FLOAT,
            "DOUBLE" => DOUBLE,
            "DECIMAL" => DECIMAL,
            "BOOLEAN" => BOOLEAN,
            "CHAR" | "ENUM" | "SET" => CHAR,
            "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" => VARCHAR,
            "BINARY" => BINARY,
            "VARBINARY" => VARBINARY,
            "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" => BLOB,
            "DATE" => DATE,
            "TIME" => TIME,
            "DATETIME" => TIMESTAMP,
            "TIMESTAMP" => TIMESTAMP_WITH_TIMEZONE,
            _ => OTHER,
        }
    }
}

impl TableDef {
    /// Debezium's table id text: `"db"."table"`.
    pub fn debezium_id(&self) -> String {
        debezium_id(&self.database, &self.name)
    }
}

/// `"db"."table"`, as Debezium's `TableId.toDoubleQuotedString()`.
pub fn debezium_id(database: &str, table: &str) -> String {
    format!("\"{database}\".\"{table}\"")
}

/// What one DDL statement did to the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableChange {
    Create(Arc<TableDef>),
    /// `old` is the (database, table) before the statement; it differs from `table`'s name when
    /// the statement renamed the table.
    Alter {
        old: (String, String),
        table: Arc<TableDef>,
    },
    Drop {
        database: String,
        table: String,
    },
    Truncate {
        database: String,
        table: String,
    },
}

/// A DDL statement that could not be applied. The connector maps it to
/// `inconsistent.schema.handling.mode` / `event.deserialization.failure.handling.mode`.
#[derive(Debug, thiserror::Error)]
pub enum DdlError {
    #[error("cannot parse DDL statement `{statement}`: the MySQL parser stopped here; if MariaDB accepted it, report the statement")]
    Parse {
        statement: String,
        #[source]
        source: ParserError,
    },
    #[error("DDL statement `{statement}` is not supported: {what}")]
    Unsupported { statement: String, what: String },
    #[error("DDL statement `{statement}` names column `{column}`, which table `{database}`.`{table}` does not have; the schema history is out of step with the server (re-snapshot the schema)")]
    UnknownColumn {
        statement: String,
        database: String,
        table: String,
        column: String,
    },
    #[error(
        "DDL statement `{statement}` names table `{table}` without a database and none is selected"
    )]
    NoDatabase { statement: String, table: String },
}

impl Schema {
    pub fn new() -> Schema {
        Schema::default()
    }

    /// Apply one DDL statement (a binlog QUERY event's text with its default database, or a
    /// SHOW CREATE TABLE text). Statements that change no table return an empty Vec.
    pub fn apply(&mut self, database: &str, ddl: &str) -> Result<Vec<TableChange>, DdlError> {
        let cleaned = clean_sql(ddl);
        let kind = classify(&cleaned);
        if kind == Kind::Other {
            return Ok(Vec::new());
        }
        let default_db = if database.is_empty() {
            self.current.clone().unwrap_or_default()
        } else {
            database.to_string()
        };
        let mut ctx = Ctx {
            statement: excerpt(ddl),
            default_db,
        };
        match kind {
            Kind::Other => Ok(Vec::new()),
            Kind::CreateTable => {
                let (sql, tail) = mariadb::create_table(&ctx, &cleaned)?;
                let statement = parse_one(&ctx, &sql)?;
                match statement {
                    Statement::CreateTable(create) => self.create_table(&ctx, create, tail),
                    _ => Ok(Vec::new()),
                }
            }
            Kind::AlterTable => mariadb::alter_table(self, &ctx, &cleaned),
            Kind::AlterDatabase => {
                mariadb::alter_database(self, &ctx, &cleaned);
                Ok(Vec::new())
            }
            Kind::DropTable
            | Kind::RenameTable
            | Kind::Truncate
            | Kind::CreateDatabase
            | Kind::DropDatabase
            | Kind::Use => {
                let statements =
                    Parser::parse_sql(&MySqlDialect {}, &cleaned).map_err(|source| {
                        DdlError::Parse {
                            statement: ctx.statement.clone(),
                            source,
                        }
                    })?;
                // All or nothing: a statement that fails half-way (a DROP of several tables
                // where one name cannot be qualified) leaves the schema as it was.
                let mut next = self.clone();
                let mut changes = Vec::new();
                for statement in statements {
                    changes.extend(next.apply_statement(&mut ctx, statement)?);
                }
                *self = next;
                Ok(changes)
            }
        }
    }

    /// Whether `sql` is a statement [`Schema::apply`] acts on (table or database DDL, `USE`):
    /// the statements the schema history records. Cheap; does not parse the statement.
    pub fn is_schema_statement(sql: &str) -> bool {
        classify(&clean_sql(sql)) != Kind::Other
    }

    pub fn table(&self, database: &str, table: &str) -> Option<&Arc<TableDef>> {
        self.databases.get(database)?.tables.get(table)
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.databases.values().flat_map(|db| db.tables.values())
    }

    /// Known database names (from `CREATE DATABASE` or from tables created in them).
    pub fn databases(&self) -> impl Iterator<Item = &str> {
        self.databases.keys().map(String::as_str)
    }

    /// Forget a table; returns it if it was known.
    pub fn remove_table(&mut self, database: &str, table: &str) -> Option<Arc<TableDef>> {
        self.databases.get_mut(database)?.tables.remove(table)
    }

    /// Put a table in place as it is (e.g. read from the server at snapshot time).
    pub fn insert_table(&mut self, table: TableDef) -> Arc<TableDef> {
        let table = Arc::new(table);
        self.databases
            .entry(table.database.clone())
            .or_default()
            .tables
            .insert(table.name.clone(), table.clone());
        table
    }

    fn apply_statement(
        &mut self,
        ctx: &mut Ctx,
        statement: Statement,
    ) -> Result<Vec<TableChange>, DdlError> {
        match statement {
            Statement::CreateTable(create) => {
                self.create_table(ctx, create, TableOptions::default())
            }
            Statement::AlterTable(alter) => {
                let (db, name) = ctx.qualify(&alter.name)?;
                self.alter_table(ctx, &db, &name, alter.operations)
            }
            Statement::Drop {
                object_type: ObjectType::Table,
                temporary,
                names,
                ..
            } => {
                let mut changes = Vec::new();
                if temporary {
                    return Ok(changes);
                }
                for name in &names {
                    let (db, table) = ctx.qualify(name)?;
                    if let Some(database) = self.databases.get_mut(&db) {
                        if database.tables.remove(&table).is_some() {
                            changes.push(TableChange::Drop {
                                database: db,
                                table,
                            });
                        }
                    }
                }
                Ok(changes)
            }
            Statement::Drop {
                object_type: ObjectType::Database | ObjectType::Schema,
                names,
                ..
            } => {
                let mut changes = Vec::new();
                for name in &names {
                    let db = last_part(name);
                    if let Some(database) = self.databases.remove(&db) {
                        for table in database.tables.into_values() {
                            changes.push(TableChange::Drop {
                                database: db.clone(),
                                table: table.name.clone(),
                            });
                        }
                    }
                }
                Ok(changes)
            }
            Statement::RenameTable(renames) => {
                let mut changes = Vec::new();
                for rename in renames {
                    let from = ctx.qualify(&rename.old_name)?;
                    let to = ctx.qualify(&rename.new_name)?;
                    changes.extend(self.rename_table(from, to));
                }
                Ok(changes)
            }
            Statement::Truncate(truncate) => {
                let mut changes = Vec::new();
                for target in &truncate.table_names {
                    let (db, table) = ctx.qualify(&target.name)?;
                    if self.table(&db, &table).is_some() {
                        changes.push(TableChange::Truncate {
                            database: db,
                            table,
                        });
                    }
                }
                Ok(changes)
            }
            Statement::CreateDatabase {
                db_name,
                if_not_exists,
                default_charset,
                default_collation,
                ..
            } => {
                let db = last_part(&db_name);
                if if_not_exists && self.databases.contains_key(&db) {
                    return Ok(Vec::new());
                }
                let charset = default_charset
                    .map(|c| normalize_charset(&c))
                    .or_else(|| default_collation.as_deref().map(charset_of_collation));
                let database = self.databases.entry(db).or_default();
                database.charset = charset;
                Ok(Vec::new())
            }
            Statement::CreateSchema { schema_name, .. } => {
                let name = schema_name.to_string();
                let db = unquote_ident(&name);
                self.databases.entry(db).or_default();
                Ok(Vec::new())
            }
            Statement::Use(use_) => {
                let text = use_.to_string();
                if let Some(name) = text.split_whitespace().last() {
                    let db = unquote_ident(name);
                    ctx.default_db = db.clone();
                    self.current = Some(db);
                }
                Ok(Vec::new())
            }
            _ => Ok(Vec::new()),
        }
    }

    fn create_table(
        &mut self,
        ctx: &Ctx,
        create: sqlparser::ast::CreateTable,
        tail: TableOptions,
    ) -> Result<Vec<TableChange>, DdlError> {
        if create.temporary {
            return Ok(Vec::new());
        }
        let (db, name) = ctx.qualify(&create.name)?;
        if create.if_not_exists && self.table(&db, &name).is_some() {
            return Ok(Vec::new());
        }
        if let Some(like) = &create.like {
            let source = match like {
                CreateTableLikeKind::Parenthesized(l) | CreateTableLikeKind::Plain(l) => &l.name,
            };
            let (sdb, sname) = ctx.qualify(source)?;
            let Some(source) = self.table(&sdb, &sname) else {
                return Err(DdlError::Unsupported {
                    statement: ctx.statement.clone(),
                    what: format!(
                        "CREATE TABLE ... LIKE names table `{sdb}`.`{sname}`, which the schema history does not have"
                    ),
                });
            };
            let mut table = TableDef::clone(source);
            table.database = db;
            table.name = name;
            let table = self.insert_table(table);
            return Ok(vec![TableChange::Create(table)]);
        }
        if create.query.is_some() {
            return Err(DdlError::Unsupported {
                statement: ctx.statement.clone(),
                what: "CREATE TABLE ... SELECT: the columns come from the query; capture the table from a snapshot (SHOW CREATE TABLE) instead".into(),
            });
        }
        let database_charset = self.databases.get(&db).and_then(|d| d.charset.clone());
        let mut table = TableDef {
            database: db,
            name,
            columns: Vec::new(),
            primary_key: Vec::new(),
            charset: None,
        };
        let options = table_options(&create.table_options);
        table.charset = tail.charset.or(options.charset).or(database_charset);
        for column in &create.columns {
            let def = column_def(
                &column.name,
                &column.data_type,
                column.options.iter().map(|o| &o.option),
                &mut table.primary_key,
            )?;
            table.columns.push(def);
        }
        for constraint in &create.constraints {
            if let TableConstraint::PrimaryKey(pk) = constraint {
                table.primary_key = pk
                    .columns
                    .iter()
                    .map(|c| index_column_name(&c.column.expr))
                    .collect();
            }
        }
        finish_table(ctx, &mut table)?;
        let table = self.insert_table(table);
        Ok(vec![TableChange::Create(table)])
    }

    fn alter_table(
        &mut self,
        ctx: &Ctx,
        db: &str,
        name: &str,
        operations: Vec<AlterTableOperation>,
    ) -> Result<Vec<TableChange>, DdlError> {
        let Some(existing) = self.table(db, name) else {
            // Debezium ignores ALTER of a table it does not know; rows of such a table fail
            // later with an unknown-table error, which the connector's modes handle.
            return Ok(Vec::new());
        };
        let mut table = TableDef::clone(existing);
        for op in operations {
            alter_op(ctx, &mut table, op)?;
        }
        finish_table(ctx, &mut table)?;
        let old = (db.to_string(), name.to_string());
        if (table.database.as_str(), table.name.as_str()) != (db, name) {
            if let Some(database) = self.databases.get_mut(db) {
                database.tables.remove(name);
            }
        }
        let table = self.insert_table(table);
        Ok(vec![TableChange::Alter { old, table }])
    }

    fn rename_table(&mut self, from: (String, String), to: (String, String)) -> Vec<TableChange> {
        let Some(table) = self
            .databases
            .get_mut(&from.0)
            .and_then(|d| d.tables.remove(&from.1))
        else {
            return Vec::new();
        };
        let mut table = TableDef::clone(&table);
        table.database = to.0;
        table.name = to.1;
        let table = self.insert_table(table);
        vec![TableChange::Alter { old: from, table }]
    }
}

/// Per-statement context: the statement for error messages and the default database.
struct Ctx {
    statement: String,
    default_db: String,
}

impl Ctx {
    /// (database, table) of a possibly qualified name.
    fn qualify(&self, name: &ObjectName) -> Result<(String, String), DdlError> {
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(ident) => ident.value.clone(),
                other => other.to_string(),
            })
            .collect();
        self.qualify_parts(&parts)
    }

    fn qualify_parts(&self, parts: &[String]) -> Result<(String, String), DdlError> {
        match parts {
            [table] => {
                if self.default_db.is_empty() {
                    Err(DdlError::NoDatabase {
                        statement: self.statement.clone(),
                        table: table.clone(),
                    })
                } else {
                    Ok((self.default_db.clone(), table.clone()))
                }
            }
            [.., db, table] => Ok((db.clone(), table.clone())),
            [] => Err(DdlError::Unsupported {
                statement: self.statement.clone(),
                what: "a table name is empty".into(),
            }),
        }
    }

    fn unknown_column(&self, table: &TableDef, column: &str) -> DdlError {
        DdlError::UnknownColumn {
            statement: self.statement.clone(),
            database: table.database.clone(),
            table: table.name.clone(),
            column: column.to_string(),
        }
    }
}

fn last_part(name: &ObjectName) -> String {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) => ident.value.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// Strip backquotes (and doubled backquotes inside) from an identifier's text.
fn unquote_ident(text: &str) -> String {
    let t = text.trim().trim_end_matches(';');
    if t.len() >= 2 && t.starts_with('`') && t.ends_with('`') {
        t[1..t.len() - 1].replace("``", "`")
    } else {
        t.to_string()
    }
}

fn index_column_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => ident.value.clone(),
        Expr::CompoundIdentifier(parts) => {
            parts.last().map(|i| i.value.clone()).unwrap_or_default()
        }
        // `PRIMARY KEY (name(10))`: a prefix of the column is indexed.
        Expr::Function(f) => f
            .name
            .0
            .last()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => i.value.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default(),
        other => other.to_string(),
    }
}

fn find_column(table: &TableDef, name: &str) -> Option<usize> {
    table
        .columns
        .iter()
        .position(|c| same_column(&c.name, name))
}

/// Column names are case-insensitive in MySQL/MariaDB.
fn same_column(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

/// Renumber positions, make key columns NOT NULL, spell key names as the columns are, and
/// check that every key column exists.
fn finish_table(ctx: &Ctx, table: &mut TableDef) -> Result<(), DdlError> {
    for (i, column) in table.columns.iter_mut().enumerate() {
        column.position = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if column.charset.is_none() && column.is_character() {
            column.charset = table.charset.clone();
        }
    }
    let mut key = Vec::with_capacity(table.primary_key.len());
    for name in &table.primary_key {
        let Some(i) = find_column(table, name) else {
            return Err(ctx.unknown_column(table, name));
        };
        key.push(i);
    }
    table.primary_key = key.iter().map(|&i| table.columns[i].name.clone()).collect();
    for i in key {
        table.columns[i].nullable = false;
    }
    Ok(())
}

/// Options of CREATE TABLE / ALTER TABLE that matter here.
#[derive(Debug, Default)]
struct TableOptions {
    charset: Option<String>,
}

fn table_options(options: &sqlparser::ast::CreateTableOptions) -> TableOptions {
    use sqlparser::ast::CreateTableOptions as O;
    let list: &[SqlOption] = match options {
        O::None => &[],
        O::With(l) | O::Options(l) | O::Plain(l) | O::TableProperties(l) => l,
    };
    let mut out = TableOptions::default();
    let mut collation = None;
    for option in list {
        if let SqlOption::KeyValue { key, value } = option {
            let key = key.to_string().to_ascii_uppercase();
            let value = expr_text(value);
            match key.as_str() {
                "CHARSET" | "CHARACTER SET" | "DEFAULT CHARSET" | "DEFAULT CHARACTER SET" => {
                    out.charset = Some(normalize_charset(&value))
                }
                "COLLATE" | "DEFAULT COLLATE" => collation = Some(charset_of_collation(&value)),
                _ => {}
            }
        }
    }
    if out.charset.is_none() {
        out.charset = collation;
    }
    out
}

/// Text of a literal or identifier expression, unquoted.
fn expr_text(expr: &Expr) -> String {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        Expr::Identifier(i) => i.value.clone(),
        other => other.to_string(),
    }
}

fn normalize_charset(name: &str) -> String {
    let lower = unquote_ident(name).trim_matches('\'').to_ascii_lowercase();
    match lower.as_str() {
        // MariaDB reports `utf8` as `utf8mb3` (old_mode without UTF8_IS_UTF8MB3 aside).
        "utf8" => "utf8mb3".into(),
        _ => lower,
    }
}

/// A collation's character set: the part before the first `_` (`utf8mb4_bin` -> `utf8mb4`).
fn charset_of_collation(collation: &str) -> String {
    let lower = unquote_ident(collation)
        .trim_matches('\'')
        .to_ascii_lowercase();
    normalize_charset(lower.split('_').next().unwrap_or(&lower))
}

/// Types with a character set. JSON is not one: MySQL stores it binary, and MariaDB's
/// JSON is always `LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`, whatever the table's.
fn is_character_type(type_name: &str) -> bool {
    matches!(
        type_name,
        "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
    )
}

/// Longest character of a character set, in bytes (`SHOW CHARACTER SET`'s Maxlen), for the
/// sets whose width decides `CONVERT TO CHARACTER SET`'s TEXT promotion.
fn charset_max_bytes(charset: &str) -> Option<u64> {
    Some(match charset {
        "ucs2" | "big5" | "gbk" | "sjis" | "cp932" | "euckr" | "gb2312" => 2,
        "utf8mb3" | "ujis" | "eucjpms" => 3,
        "utf8mb4" | "utf16" | "utf16le" | "utf32" | "gb18030" => 4,
        "latin1" | "latin2" | "latin5" | "latin7" | "ascii" | "binary" | "cp1250" | "cp1251"
        | "cp1256" | "cp1257" | "cp850" | "cp852" | "cp866" | "dec8" | "greek" | "hebrew"
        | "hp8" | "keybcs2" | "koi8r" | "koi8u" | "macce" | "macroman" | "swe7" | "tis620"
        | "armscii8" | "geostd8" => 1,
        _ => return None,
    })
}

/// `CONVERT TO CHARACTER SET` turns a TEXT column into the smallest TEXT type that holds as
/// many characters in the new character set as it held in the old one.
pub(crate) fn converted_text_type(type_name: &str, from: &str, to: &str) -> Option<&'static str> {
    const TEXTS: [(&str, u64); 4] = [
        ("TINYTEXT", 255),
        ("TEXT", 65_535),
        ("MEDIUMTEXT", 16_777_215),
        ("LONGTEXT", 4_294_967_295),
    ];
    let (old, new) = (charset_max_bytes(from)?, charset_max_bytes(to)?);
    let bytes = TEXTS.iter().find(|(t, _)| *t == type_name)?.1;
    let needed = bytes / old * new;
    TEXTS
        .iter()
        .find(|(_, cap)| *cap >= needed)
        .map(|(t, _)| *t)
        .filter(|t| *t != type_name && new > old)
}

/// Apply one ALTER TABLE clause.
fn alter_op(ctx: &Ctx, table: &mut TableDef, op: AlterTableOperation) -> Result<(), DdlError> {
    match op {
        AlterTableOperation::AddColumn {
            if_not_exists,
            column_def,
            column_position,
            ..
        } => {
            if if_not_exists && find_column(table, &column_def.name.value).is_some() {
                return Ok(());
            }
            let mut key = table.primary_key.clone();
            let mut def = column_def_with_table(
                table,
                &column_def.name,
                &column_def.data_type,
                column_def.options.iter().map(|o| &o.option),
                &mut key,
            )?;
            table.primary_key = key;
            def.position = 0;
            insert_at(ctx, table, def, column_position.as_ref())?;
        }
        AlterTableOperation::DropColumn {
            column_names,
            if_exists,
            ..
        } => {
            for name in column_names {
                match find_column(table, &name.value) {
                    Some(i) => {
                        let removed = table.columns.remove(i);
                        table.primary_key.retain(|k| !same_column(k, &removed.name));
                    }
                    None if if_exists => {}
                    None => return Err(ctx.unknown_column(table, &name.value)),
                }
            }
        }
        AlterTableOperation::ModifyColumn {
            col_name,
            data_type,
            options,
            column_position,
        } => replace_column(
            ctx,
            table,
            &col_name,
            &col_name,
            &data_type,
            &options,
            column_position.as_ref(),
        )?,
        AlterTableOperation::ChangeColumn {
            old_name,
            new_name,
            data_type,
            options,
            column_position,
        } => replace_column(
            ctx,
            table,
            &old_name,
            &new_name,
            &data_type,
            &options,
            column_position.as_ref(),
        )?,
        AlterTableOperation::RenameColumn {
            old_column_name,
            new_column_name,
        } => {
            let Some(i) = find_column(table, &old_column_name.value) else {
                return Err(ctx.unknown_column(table, &old_column_name.value));
            };
            let old = std::mem::replace(&mut table.columns[i].name, new_column_name.value.clone());
            for k in &mut table.primary_key {
                if same_column(k, &old) {
                    *k = new_column_name.value.clone();
                }
            }
        }
        AlterTableOperation::AlterColumn { column_name, op } => {
            let Some(i) = find_column(table, &column_name.value) else {
                return Err(ctx.unknown_column(table, &column_name.value));
            };
            let column = &mut table.columns[i];
            match op {
                AlterColumnOperation::SetDefault { value } => column.default = default_text(&value),
                AlterColumnOperation::DropDefault => column.default = None,
                AlterColumnOperation::SetNotNull => column.nullable = false,
                AlterColumnOperation::DropNotNull => column.nullable = true,
                AlterColumnOperation::SetDataType { data_type, .. } => {
                    let ty = type_info(&data_type);
                    apply_type(column, ty, table.charset.as_deref());
                }
                AlterColumnOperation::AddGenerated { .. }
                | AlterColumnOperation::GenericOptions { .. } => {}
            }
        }
        AlterTableOperation::AddConstraint {
            constraint: TableConstraint::PrimaryKey(pk),
            ..
        } => {
            table.primary_key = pk
                .columns
                .iter()
                .map(|c| index_column_name(&c.column.expr))
                .collect();
        }
        AlterTableOperation::DropPrimaryKey { .. } => table.primary_key.clear(),
        AlterTableOperation::RenameTable { table_name } => {
            let name = match table_name {
                RenameTableNameKind::As(n) | RenameTableNameKind::To(n) => n,
            };
            let (db, t) = ctx.qualify(&name)?;
            table.database = db;
            table.name = t;
        }
        AlterTableOperation::SetTblProperties { table_properties }
        | AlterTableOperation::SetOptionsParens {
            options: table_properties,
        } => {
            let options =
                table_options(&sqlparser::ast::CreateTableOptions::Plain(table_properties));
            if let Some(charset) = options.charset {
                table.charset = Some(charset);
            }
        }
        // Indexes other than the primary key, foreign keys, checks, partitions, ALGORITHM,
        // LOCK, AUTO_INCREMENT=... and the other dialects' clauses do not change the shape.
        _ => {}
    }
    Ok(())
}

fn replace_column(
    ctx: &Ctx,
    table: &mut TableDef,
    old_name: &Ident,
    new_name: &Ident,
    data_type: &DataType,
    options: &[ColumnOption],
    position: Option<&MySQLColumnPosition>,
) -> Result<(), DdlError> {
    let Some(i) = find_column(table, &old_name.value) else {
        return Err(ctx.unknown_column(table, &old_name.value));
    };
    let mut key = table.primary_key.clone();
    let def = column_def_with_table(table, new_name, data_type, options.iter(), &mut key)?;
    for k in &mut key {
        if same_column(k, &old_name.value) {
            *k = new_name.value.clone();
        }
    }
    table.primary_key = key;
    match position {
        None => table.columns[i] = def,
        Some(_) => {
            table.columns.remove(i);
            insert_at(ctx, table, def, position)?;
        }
    }
    Ok(())
}

fn insert_at(
    ctx: &Ctx,
    table: &mut TableDef,
    def: ColumnDef,
    position: Option<&MySQLColumnPosition>,
) -> Result<(), DdlError> {
    match position {
        None => table.columns.push(def),
        Some(MySQLColumnPosition::First) => table.columns.insert(0, def),
        Some(MySQLColumnPosition::After(after)) => {
            let Some(i) = find_column(table, &after.value) else {
                return Err(ctx.unknown_column(table, &after.value));
            };
            table.columns.insert(i + 1, def);
        }
    }
    Ok(())
}

fn column_def_with_table<'a>(
    table: &TableDef,
    name: &Ident,
    data_type: &DataType,
    options: impl Iterator<Item = &'a ColumnOption>,
    key: &mut Vec<String>,
) -> Result<ColumnDef, DdlError> {
    let mut def = column_def(name, data_type, options, key)?;
    if def.is_character() && def.charset.is_none() {
        def.charset = table.charset.clone();
    }
    Ok(def)
}

/// A column from its definition; adds the column to `key` for an inline PRIMARY KEY.
/// Character columns without a character set get the table's in `finish_table`.
fn column_def<'a>(
    name: &Ident,
    data_type: &DataType,
    options: impl Iterator<Item = &'a ColumnOption>,
    key: &mut Vec<String>,
) -> Result<ColumnDef, DdlError> {
    let ty = type_info(data_type);
    let mut def = ColumnDef {
        name: name.value.clone(),
        position: 0,
        type_name: String::new(),
        length: None,
        scale: None,
        unsigned: false,
        nullable: true,
        auto_increment: false,
        default: None,
        charset: None,
        enum_values: Vec::new(),
        generated: false,
        comment: None,
    };
    apply_type(&mut def, ty, None);
    let mut collation_charset = None;
    for option in options {
        match option {
            ColumnOption::Null => def.nullable = true,
            ColumnOption::NotNull => def.nullable = false,
            ColumnOption::Default(expr) => def.default = default_text(expr),
            ColumnOption::PrimaryKey(_) => {
                key.clear();
                key.push(def.name.clone());
            }
            ColumnOption::CharacterSet(cs) => {
                def.charset = Some(normalize_charset(&cs.to_string()))
            }
            ColumnOption::Collation(c) => {
                collation_charset = Some(charset_of_collation(&c.to_string()))
            }
            ColumnOption::Comment(c) => def.comment = Some(c.clone()),
            ColumnOption::Generated { .. } | ColumnOption::Materialized(_) => def.generated = true,
            ColumnOption::DialectSpecific(tokens) => {
                let text: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
                if text
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case("AUTO_INCREMENT"))
                {
                    def.auto_increment = true;
                }
            }
            _ => {}
        }
    }
    if def.charset.is_none() && def.is_character() {
        def.charset = collation_charset.or(ty_charset(data_type));
    }
    if def.type_name == "SERIAL" {
        // SERIAL = BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE
        def.type_name = "BIGINT".into();
        def.unsigned = true;
        def.nullable = false;
        def.auto_increment = true;
    }
    Ok(def)
}

/// The character set a type itself implies (`NCHAR`, `NATIONAL VARCHAR`).
fn ty_charset(data_type: &DataType) -> Option<String> {
    match data_type {
        DataType::Nvarchar(_) => Some("utf8mb3".into()),
        DataType::Custom(name, _) if name.to_string().eq_ignore_ascii_case("NCHAR") => {
            Some("utf8mb3".into())
        }
        DataType::Collate(inner, collation) => {
            ty_charset(inner).or_else(|| Some(charset_of_collation(&collation.to_string())))
        }
        _ => None,
    }
}

/// A DEFAULT expression as Debezium's `defaultValueExpression`; `None` for `NULL`.
fn default_text(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Null => None,
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            Value::Boolean(b) => Some(if *b { "1" } else { "0" }.into()),
            Value::HexStringLiteral(h) => Some(format!("0x{h}")),
            // b'101', as the server shows a BIT default
            Value::SingleQuotedByteStringLiteral(b) | Value::DoubleQuotedByteStringLiteral(b) => {
                Some(format!("b'{b}'"))
            }
            other => Some(other.to_string()),
        },
        Expr::UnaryOp { op, expr } => {
            let inner = default_text(expr)?;
            Some(format!("{op}{inner}"))
        }
        Expr::Nested(inner) => default_text(inner),
        Expr::Function(f) => {
            let name = f.name.to_string().to_ascii_uppercase();
            match name.as_str() {
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIME" | "LOCALTIMESTAMP" => {
                    Some("CURRENT_TIMESTAMP".into())
                }
                _ => Some(expr.to_string()),
            }
        }
        Expr::Identifier(i) => {
            let upper = i.value.to_ascii_uppercase();
            match upper.as_str() {
                "CURRENT_TIMESTAMP" | "NOW" | "LOCALTIME" | "LOCALTIMESTAMP" => {
                    Some("CURRENT_TIMESTAMP".into())
                }
                _ => Some(i.value.clone()),
            }
        }
        other => Some(other.to_string()),
    }
}

/// A column type reduced to what the schema keeps.
#[derive(Debug, Default)]
struct TypeInfo {
    name: String,
    length: Option<u64>,
    scale: Option<u32>,
    unsigned: bool,
    values: Vec<String>,
}

fn apply_type(column: &mut ColumnDef, ty: TypeInfo, table_charset: Option<&str>) {
    column.type_name = ty.name;
    column.length = ty.length;
    column.scale = ty.scale;
    column.unsigned = ty.unsigned;
    column.enum_values = ty.values;
    if column.is_character() {
        if column.charset.is_none() {
            column.charset = table_charset.map(str::to_string);
        }
    } else {
        column.charset = None;
    }
}

fn exact(info: &ExactNumberInfo) -> (Option<u64>, Option<u32>) {
    match info {
        ExactNumberInfo::None => (None, None),
        ExactNumberInfo::Precision(p) => (Some(*p), None),
        ExactNumberInfo::PrecisionAndScale(p, s) => (Some(*p), u32::try_from(*s).ok()),
    }
}

fn char_len(len: &Option<CharacterLength>) -> Option<u64> {
    match len {
        Some(CharacterLength::IntegerLength { length, .. }) => Some(*length),
        _ => None,
    }
}

fn simple(name: &str, length: Option<u64>, unsigned: bool) -> TypeInfo {
    TypeInfo {
        name: name.into(),
        length,
        unsigned,
        ..TypeInfo::default()
    }
}

fn type_info(data_type: &DataType) -> TypeInfo {
    use DataType as D;
    match data_type {
        D::TinyInt(l) => simple("TINYINT", *l, false),
        D::TinyIntUnsigned(l) => simple("TINYINT", *l, true),
        D::SmallInt(l) => simple("SMALLINT", *l, false),
        D::SmallIntUnsigned(l) => simple("SMALLINT", *l, true),
        D::MediumInt(l) => simple("MEDIUMINT", *l, false),
        D::MediumIntUnsigned(l) => simple("MEDIUMINT", *l, true),
        D::Int(l) | D::Integer(l) => simple("INT", *l, false),
        D::IntUnsigned(l) | D::IntegerUnsigned(l) => simple("INT", *l, true),
        D::BigInt(l) => simple("BIGINT", *l, false),
        D::BigIntUnsigned(l) => simple("BIGINT", *l, true),
        D::Decimal(i) | D::Numeric(i) | D::Dec(i) => {
            let (length, scale) = exact(i);
            TypeInfo {
                name: "DECIMAL".into(),
                length,
                scale,
                ..TypeInfo::default()
            }
        }
        D::DecimalUnsigned(i) | D::DecUnsigned(i) => {
            let (length, scale) = exact(i);
            TypeInfo {
                name: "DECIMAL".into(),
                length,
                scale,
                unsigned: true,
                ..TypeInfo::default()
            }
        }
        D::Float(i) | D::FloatUnsigned(i) => {
            let (length, scale) = exact(i);
            TypeInfo {
                name: "FLOAT".into(),
                length,
                scale,
                unsigned: matches!(data_type, D::FloatUnsigned(_)),
                ..TypeInfo::default()
            }
        }
        D::Double(i) | D::DoubleUnsigned(i) => {
            let (length, scale) = exact(i);
            TypeInfo {
                name: "DOUBLE".into(),
                length,
                scale,
                unsigned: matches!(data_type, D::DoubleUnsigned(_)),
                ..TypeInfo::default()
            }
        }
        D::Real | D::DoublePrecision => simple("DOUBLE", None, false),
        D::RealUnsigned | D::DoublePrecisionUnsigned => simple("DOUBLE", None, true),
        D::Bool | D::Boolean => simple("BOOLEAN", None, false),
        D::Zerofill(inner) => {
            let mut ty = type_info(inner);
            ty.unsigned = true;
            ty
        }
        D::Char(l) | D::Character(l) => simple("CHAR", char_len(l), false),
        D::Varchar(l) | D::CharVarying(l) | D::CharacterVarying(l) | D::Nvarchar(l) => {
            simple("VARCHAR", char_len(l), false)
        }
        D::Binary(l) => simple("BINARY", *l, false),
        D::Varbinary(l) => simple(
            "VARBINARY",
            match l {
                Some(sqlparser::ast::BinaryLength::IntegerLength { length }) => Some(*length),
                _ => None,
            },
            false,
        ),
        D::Blob(l) => simple("BLOB", *l, false),
        D::TinyBlob => simple("TINYBLOB", None, false),
        D::MediumBlob => simple("MEDIUMBLOB", None, false),
        D::LongBlob => simple("LONGBLOB", None, false),
        D::Text => simple("TEXT", None, false),
        D::TinyText => simple("TINYTEXT", None, false),
        D::MediumText => simple("MEDIUMTEXT", None, false),
        D::LongText => simple("LONGTEXT", None, false),
        D::Date => simple("DATE", None, false),
        D::Time(p, _) => simple("TIME", *p, false),
        D::Datetime(p) => simple("DATETIME", *p, false),
        D::Timestamp(p, _) => simple("TIMESTAMP", *p, false),
        D::JSON => simple("JSON", None, false),
        D::Bit(l) => simple("BIT", *l, false),
        D::Uuid => simple("UUID", None, false),
        D::Collate(inner, _) => type_info(inner),
        D::Enum(members, _) => TypeInfo {
            name: "ENUM".into(),
            values: members
                .iter()
                .map(|m| match m {
                    EnumMember::Name(n) | EnumMember::NamedValue(n, _) => n.clone(),
                })
                .collect(),
            ..TypeInfo::default()
        },
        D::Set(values) => TypeInfo {
            name: "SET".into(),
            values: values.clone(),
            ..TypeInfo::default()
        },
        other => type_from_text(&other.to_string()),
    }
}

/// Types the parser keeps as text (`YEAR(4)`, `GEOMETRY`, `POINT`, `INET6`, ...): the base name
/// upper-cased with synonyms folded, numeric arguments as length and scale.
fn type_from_text(text: &str) -> TypeInfo {
    let upper = text.to_ascii_uppercase();
    let (head, args) = match upper.find('(') {
        Some(open) => {
            let close = upper.rfind(')').unwrap_or(upper.len());
            (
                format!("{}{}", &upper[..open], upper.get(close + 1..).unwrap_or("")),
                upper.get(open + 1..close).unwrap_or(""),
            )
        }
        None => (upper.clone(), ""),
    };
    let mut words: Vec<&str> = head.split_whitespace().collect();
    let unsigned = words.iter().any(|w| *w == "UNSIGNED" || *w == "ZEROFILL");
    words.retain(|w| *w != "UNSIGNED" && *w != "ZEROFILL" && *w != "SIGNED");
    let base = words.join(" ");
    let name = match base.as_str() {
        "INT1" => "TINYINT",
        "INT2" => "SMALLINT",
        "INT3" | "MIDDLEINT" => "MEDIUMINT",
        "INT4" | "INTEGER" => "INT",
        "INT8" => "BIGINT",
        "FIXED" | "NUMERIC" | "DEC" => "DECIMAL",
        "FLOAT4" => "FLOAT",
        "FLOAT8" | "REAL" | "DOUBLE PRECISION" => "DOUBLE",
        "BOOL" => "BOOLEAN",
        "LONG" | "LONG VARCHAR" => "MEDIUMTEXT",
        "LONG VARBINARY" => "MEDIUMBLOB",
        "NCHAR" | "NATIONAL CHAR" | "NATIONAL CHARACTER" => "CHAR",
        "NVARCHAR" | "NATIONAL VARCHAR" | "NCHAR VARCHAR" | "NATIONAL CHAR VARYING" => "VARCHAR",
        "GEOMCOLLECTION" => "GEOMETRYCOLLECTION",
        other => other,
    }
    .to_string();
    let mut nums = args.split(',').map(|a| a.trim().parse::<u64>().ok());
    let length = nums.next().flatten();
    let scale = nums.next().flatten().and_then(|s| u32::try_from(s).ok());
    TypeInfo {
        name,
        length,
        scale,
        unsigned,
        values: Vec::new(),
    }
}

/// The statement's kind, from its leading keywords; decides whether to parse at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CreateTable,
    AlterTable,
    DropTable,
    RenameTable,
    Truncate,
    CreateDatabase,
    AlterDatabase,
    DropDatabase,
    Use,
    Other,
}

fn classify(sql: &str) -> Kind {
    let words: Vec<String> = sql
        .split(|c: char| c.is_whitespace() || c == '`' || c == '(' || c == ';')
        .filter(|w| !w.is_empty())
        .take(6)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let skip = |w: &[&'static str], words: &[&str]| -> usize {
        words.iter().take_while(|x| w.contains(x)).count()
    };
    match w.first().copied() {
        Some("CREATE") => {
            let rest = &w[1..];
            let n = skip(&["OR", "REPLACE", "TEMPORARY"], rest);
            match rest.get(n).copied() {
                Some("TABLE") => Kind::CreateTable,
                Some("DATABASE" | "SCHEMA") => Kind::CreateDatabase,
                _ => Kind::Other,
            }
        }
        Some("ALTER") => {
            let rest = &w[1..];
            let n = skip(&["ONLINE", "OFFLINE", "IGNORE"], rest);
            match rest.get(n).copied() {
                Some("TABLE") => Kind::AlterTable,
                Some("DATABASE" | "SCHEMA") => Kind::AlterDatabase,
                _ => Kind::Other,
            }
        }
        Some("DROP") => {
            let rest = &w[1..];
            let n = skip(&["TEMPORARY"], rest);
            match rest.get(n).copied() {
                Some("TABLE" | "TABLES") => Kind::DropTable,
                Some("DATABASE" | "SCHEMA") => Kind::DropDatabase,
                _ => Kind::Other,
            }
        }
        Some("RENAME") => match w.get(1).copied() {
            Some("TABLE" | "TABLES") => Kind::RenameTable,
            _ => Kind::Other,
        },
        Some("TRUNCATE") => Kind::Truncate,
        Some("USE") => Kind::Use,
        _ => Kind::Other,
    }
}

/// The statement with comments replaced by spaces and MySQL executable comments
/// (`/*!40101 ... */`, `/*M!100100 ... */`) opened up, so that the parser sees plain SQL.
/// Quoted strings and identifiers are copied as they are.
fn clean_sql(sql: &str) -> String {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    // Depth of open executable comments whose `*/` must be dropped.
    let mut exec_depth = 0usize;
    let mut start = 0; // start of the pending verbatim run
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && q != b'`' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                out.push_str(&sql[start..i]);
                let executable = matches!(b.get(i + 2), Some(b'!'))
                    || (b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!'));
                if executable {
                    i += if b[i + 2] == b'M' { 4 } else { 3 };
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                    exec_depth += 1;
                } else {
                    i += 2;
                    while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                        i += 1;
                    }
                    i = (i + 2).min(b.len());
                }
                out.push(' ');
                start = i;
            }
            b'*' if exec_depth > 0 && b.get(i + 1) == Some(&b'/') => {
                out.push_str(&sql[start..i]);
                out.push(' ');
                exec_depth -= 1;
                i += 2;
                start = i;
            }
            b'#' => {
                out.push_str(&sql[start..i]);
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                out.push(' ');
                start = i;
            }
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                out.push_str(&sql[start..i]);
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                out.push(' ');
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[start.min(sql.len())..]);
    out
}

/// The statement shortened for error messages (whitespace collapsed).
fn excerpt(sql: &str) -> String {
    let collapsed: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= STATEMENT_EXCERPT_CHARS {
        collapsed
    } else {
        let cut: String = collapsed.chars().take(STATEMENT_EXCERPT_CHARS).collect();
        format!("{cut}...")
    }
}

/// Parse exactly one statement with sqlparser's MySQL dialect.
fn parse_one(ctx: &Ctx, sql: &str) -> Result<Statement, DdlError> {
    let mut statements =
        Parser::parse_sql(&MySqlDialect {}, sql).map_err(|source| DdlError::Parse {
            statement: ctx.statement.clone(),
            source,
        })?;
    match statements.len() {
        1 => Ok(statements.remove(0)),
        n => Err(DdlError::Unsupported {
            statement: ctx.statement.clone(),
            what: format!("expected one statement, found {n}"),
        }),
    }
}

mod mariadb;

#[cfg(test)]
mod tests;
