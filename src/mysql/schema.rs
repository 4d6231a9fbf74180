//! PLACEHOLDER until the schema helper's `mysql-schema` branch is merged: the public types
//! of the in-memory schema, without the DDL parser. Replaced wholesale by that branch.

use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct Schema {
    tables: BTreeMap<(String, String), Arc<TableDef>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub database: String,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    pub primary_key: Vec<String>,
    pub charset: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub position: u32,
    pub type_name: String,
    pub length: Option<u64>,
    pub scale: Option<u32>,
    pub unsigned: bool,
    pub nullable: bool,
    pub auto_increment: bool,
    pub default: Option<String>,
    pub charset: Option<String>,
    pub enum_values: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum TableChange {
    Create(Arc<TableDef>),
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

#[derive(Debug, thiserror::Error)]
#[error("cannot parse DDL: {0}")]
pub struct DdlError(pub String);

impl Schema {
    pub fn new() -> Schema {
        Schema::default()
    }

    pub fn apply(&mut self, _database: &str, _ddl: &str) -> Result<Vec<TableChange>, DdlError> {
        Ok(Vec::new())
    }

    pub fn table(&self, database: &str, table: &str) -> Option<&Arc<TableDef>> {
        self.tables.get(&(database.to_owned(), table.to_owned()))
    }

    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableDef>> {
        self.tables.values()
    }

    pub fn insert(&mut self, table: TableDef) {
        self.tables.insert(
            (table.database.clone(), table.name.clone()),
            Arc::new(table),
        );
    }
}
