//! The Kafka Connect data model: [`Schema`] and [`Value`].
//!
//! Change events, transforms and converters all speak this model, exactly as Kafka Connect's
//! `org.apache.kafka.connect.data` does, so that a converter can reproduce the bytes a Java
//! converter would write. Struct values are positional: `Value::Struct(fields)` holds one value per
//! field of its schema, in schema order; names live only in the (shared, `Arc`'d) schema.

use std::sync::Arc;

/// Connect's schema types (`org.apache.kafka.connect.data.Schema.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaType {
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Boolean,
    String,
    Bytes,
    Array,
    Map,
    Struct,
}

impl SchemaType {
    /// The name the JSON converter writes in `"type"`.
    pub fn json_name(self) -> &'static str {
        match self {
            SchemaType::Int8 => "int8",
            SchemaType::Int16 => "int16",
            SchemaType::Int32 => "int32",
            SchemaType::Int64 => "int64",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array => "array",
            SchemaType::Map => "map",
            SchemaType::Struct => "struct",
        }
    }
}

/// A Connect schema. Built once per table (or per source block) and shared through `Arc`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub ty: SchemaType,
    pub optional: bool,
    pub default: Option<Value>,
    pub name: Option<String>,
    pub version: Option<i32>,
    pub doc: Option<String>,
    /// Ordered like Connect's `LinkedHashMap` parameters.
    pub parameters: Vec<(String, String)>,
    /// Struct fields (empty for other types).
    pub fields: Vec<Field>,
    /// Array items, or map values.
    pub items: Option<Arc<Schema>>,
    /// Map keys.
    pub keys: Option<Arc<Schema>>,
}

/// A named field of a struct schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub schema: Arc<Schema>,
}

impl Schema {
    /// A primitive schema of the given type.
    pub fn new(ty: SchemaType) -> Schema {
        Schema {
            ty,
            optional: false,
            default: None,
            name: None,
            version: None,
            doc: None,
            parameters: Vec::new(),
            fields: Vec::new(),
            items: None,
            keys: None,
        }
    }

    pub fn optional(mut self, optional: bool) -> Schema {
        self.optional = optional;
        self
    }

    pub fn named(mut self, name: impl Into<String>) -> Schema {
        self.name = Some(name.into());
        self
    }

    pub fn version(mut self, version: i32) -> Schema {
        self.version = Some(version);
        self
    }

    pub fn doc(mut self, doc: impl Into<String>) -> Schema {
        self.doc = Some(doc.into());
        self
    }

    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Schema {
        self.parameters.push((key.into(), value.into()));
        self
    }

    pub fn with_default(mut self, default: Value) -> Schema {
        self.default = Some(default);
        self
    }

    /// A struct schema with the given fields.
    pub fn structure(fields: Vec<Field>) -> Schema {
        Schema {
            fields,
            ..Schema::new(SchemaType::Struct)
        }
    }

    /// An array schema of `items`.
    pub fn array(items: Schema) -> Schema {
        Schema {
            items: Some(Arc::new(items)),
            ..Schema::new(SchemaType::Array)
        }
    }

    /// A map schema.
    pub fn map(keys: Schema, values: Schema) -> Schema {
        Schema {
            keys: Some(Arc::new(keys)),
            items: Some(Arc::new(values)),
            ..Schema::new(SchemaType::Map)
        }
    }

    /// Index of the struct field called `name`.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The parameter called `key`.
    pub fn parameter(&self, key: &str) -> Option<&str> {
        self.parameters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl Field {
    pub fn new(name: impl Into<String>, schema: Schema) -> Field {
        Field {
            name: name.into(),
            schema: Arc::new(schema),
        }
    }
}

/// A Connect value; its meaning comes from the schema it is paired with.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Boolean(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    String(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    /// One value per field of the struct schema, in schema order.
    Struct(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// A record as a source task hands it to transforms and converters
/// (Kafka Connect's `SourceRecord`, less the partition/offset, which travel with the batch).
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: Arc<str>,
    pub key_schema: Option<Arc<Schema>>,
    pub key: Option<Value>,
    pub value_schema: Option<Arc<Schema>>,
    /// `None` is a tombstone.
    pub value: Option<Value>,
    pub headers: Vec<(String, Option<String>)>,
    pub timestamp_ms: Option<i64>,
}
