

pub mod catalog;
pub mod connector;
pub mod handshake;
pub mod history;
pub mod incremental;
pub mod mapping;
pub mod position;
pub mod schema;
pub mod schema_change;
pub mod source;
