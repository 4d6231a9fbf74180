//! Connect schema → Avro schema text, as Confluent's `AvroData.fromConnectSchema` builds it and
//! Avro Java prints it (`Schema.toString()`), so the registry sees the schema a Java worker would
//! register.
//!
//! ```text
//! Connect Schema ──Writer──> Avro schema JSON (compact, Avro Java's key order)
//!   struct            record: name/namespace split at the last '.', fields, connect.* props
//!   optional T        ["null", T]   (with a default: [T, "null"]; optional structs: null first)
//!   int8 / int16      {"type":"int","connect.type":"int8"}
//!   Decimal           {"type":"bytes","scale":s,"precision":p (64 when absent),…,"logicalType":"decimal"}
//!   Date/Time/Timestamp  int/int/long with logicalType date/time-millis/timestamp-millis
//!   map<string,V>     {"type":"map","values":V}; other keys: array of MapEntry {key, value}
//! ```
//! With `connect.meta.data=true` (the default) every type carries `connect.doc`,
//! `connect.version`, `connect.parameters`, `connect.default`, `connect.name` as present in the
//! Connect schema. A named type met again (Debezium's `before` and `after` share `Value`) is
//! written as a reference, qualified against the enclosing namespace, as Avro Java does.
//! Invalid Avro names are an error unless `scrub.invalid.names=true`, as with AvroData.

use std::collections::HashSet;

use crate::connect::{Schema, SchemaType, Value};
use crate::converter::json::{write_java_double, write_java_float, write_str};

/// AvroData's own namespace (unnamed records and map entries live there).
const NAMESPACE: &str = "io.confluent.connect.avro";
const DECIMAL: &str = "org.apache.kafka.connect.data.Decimal";
const DATE: &str = "org.apache.kafka.connect.data.Date";
const TIME: &str = "org.apache.kafka.connect.data.Time";
const TIMESTAMP: &str = "org.apache.kafka.connect.data.Timestamp";
/// Decimal parameter carrying the precision (Debezium sets it for `numeric(p,s)`).
const DECIMAL_PRECISION_PARAM: &str = "connect.decimal.precision";
/// AvroData's precision when the Connect schema has none.
const DECIMAL_PRECISION_DEFAULT: u32 = 64;
/// Parameters AvroData reads back from Avro-originated schemas.
const RECORD_DOC_PARAM: &str = "io.confluent.connect.avro.record.doc";
const FIELD_DOC_PARAM_PREFIX: &str = "io.confluent.connect.avro.field.doc.";
const FIELD_DEFAULT_FLAG_PARAM: &str = "io.confluent.connect.avro.field.default";
/// Parameters of Connect shapes this converter does not write (see [`unsupported`]).
const ENUM_PARAM: &str = "io.confluent.connect.avro.Enum";
const GENERALIZED_ENUM_PARAM: &str = "org.apache.kafka.connect.data.Enum";
const GENERALIZED_UNION_PARAM: &str = "org.apache.kafka.connect.data.Union";
const UNION_NAME: &str = "io.confluent.connect.avro.Union";
const FIXED_SIZE_PARAM: &str = "connect.fixed.size";

/// AvroData settings that shape the schema (`AvroDataConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroDataOptions {
    /// `connect.meta.data` (default true): write the `connect.*` properties.
    pub connect_meta_data: bool,
    /// `scrub.invalid.names` (default false): rewrite invalid names instead of failing.
    pub scrub_invalid_names: bool,
    /// `allow.optional.map.keys` (default false): optional string keys still make an Avro map.
    pub allow_optional_map_keys: bool,
    /// `enhanced.avro.schema.support` (default false).
    pub enhanced_avro_schema_support: bool,
}

impl Default for AvroDataOptions {
    fn default() -> Self {
        AvroDataOptions {
            connect_meta_data: true,
            scrub_invalid_names: false,
            allow_optional_map_keys: false,
            enhanced_avro_schema_support: false,
        }
    }
}

impl AvroDataOptions {
    /// Whether a map schema becomes an Avro map (else an array of key/value records).
    pub fn string_keyed(&self, map: &Schema) -> bool {
        map.keys.as_deref().is_some_and(|k| {
            k.ty == SchemaType::String && (!k.optional || self.allow_optional_map_keys)
        })
    }
}

/// The Avro form of a Connect schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvroSchema {
    /// The schema text registered with the registry.
    pub json: String,
    /// What `RecordNameStrategy` names the subject after: the full name of a top-level record,
    /// else the Avro type name (`union`, `string`, …), as Confluent's `AvroSchema.name()`.
    pub record_name: String,
}

/// The Avro schema of `schema`; `Err` says why Avro cannot express it.
pub fn from_connect(schema: &Schema, options: &AvroDataOptions) -> Result<AvroSchema, String> {
    let mut w = Writer {
        options,
        out: Vec::with_capacity(1024),
        seen: Vec::new(),
        names: HashSet::new(),
        unnamed: 0,
    };
    w.schema(schema, None)?;
    let record_name = if schema.optional {
        "union".to_string()
    } else {
        match schema.ty {
            SchemaType::Struct => w
                .seen
                .first()
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| "record".to_string()),
            SchemaType::Array => "array".into(),
            SchemaType::Map if options.string_keyed(schema) => "map".into(),
            SchemaType::Map => "array".into(),
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => "int".into(),
            SchemaType::Int64 => "long".into(),
            SchemaType::Float32 => "float".into(),
            SchemaType::Float64 => "double".into(),
            SchemaType::Boolean => "boolean".into(),
            SchemaType::String => "string".into(),
            SchemaType::Bytes => "bytes".into(),
        }
    };
    let json = String::from_utf8(w.out).map_err(|_| "schema text is not UTF-8".to_string())?;
    Ok(AvroSchema { json, record_name })
}

/// Union order of an optional schema: AvroData puts `null` first unless the schema has a
/// default (then the default's type comes first, as Avro requires); optional structs always
/// put `null` first.
pub fn null_first(schema: &Schema) -> bool {
    schema.default.is_none() || schema.ty == SchemaType::Struct
}

struct Writer<'a> {
    options: &'a AvroDataOptions,
    out: Vec<u8>,
    /// Named Avro types written so far: the (non-optional) Connect schema and its Avro full name.
    seen: Vec<(Schema, String)>,
    /// Avro full names defined so far.
    names: HashSet<String>,
    /// Unnamed records so far (`ConnectDefault`, `ConnectDefault2`, …).
    unnamed: u32,
}

fn non_optional(schema: &Schema) -> Schema {
    Schema {
        optional: false,
        ..schema.clone()
    }
}

/// Avro Java's name rule: a letter or `_`, then letters, digits or `_`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// AvroData's `doScrubName`: URL-encode, prefix a leading digit with `x`, then replace every
/// character outside `[A-Za-z0-9_]` with `_`.
pub fn scrub_name(name: &str) -> String {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if name.is_empty() || (name.chars().all(ok) && !name.starts_with(|c: char| c.is_ascii_digit()))
    {
        return name.to_string();
    }
    // java.net.URLEncoder: keeps [A-Za-z0-9.*_-], space → '+', other bytes → %XX.
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                encoded.push(char::from(b))
            }
            b' ' => encoded.push('+'),
            _ => {
                encoded.push('%');
                encoded.push_str(&format!("{b:02X}"));
            }
        }
    }
    if encoded.starts_with(|c: char| c.is_ascii_digit()) {
        encoded.insert(0, 'x');
    }
    encoded
        .chars()
        .map(|c| if ok(c) { c } else { '_' })
        .collect()
}

impl Writer<'_> {
    fn push(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
    }

    fn string(&mut self, s: &str) {
        write_str(&mut self.out, s);
    }

    /// A name as Avro needs it: scrubbed when configured, else checked.
    fn avro_name(&self, name: &str) -> Result<String, String> {
        if self.options.scrub_invalid_names {
            Ok(scrub_name(name))
        } else if valid_name(name) {
            Ok(name.to_string())
        } else {
            Err(format!(
                "`{name}` is not a valid Avro name (letters, digits and _, not starting with a digit): \
                 set scrub.invalid.names=true on the converter, or field.name.adjustment.mode=avro / \
                 schema.name.adjustment.mode=avro on the connector"
            ))
        }
    }

    /// (namespace, name) of a Connect name, split at the last '.' as AvroData does.
    fn split_name(&self, full: &str) -> Result<(Option<String>, String), String> {
        match full.rsplit_once('.') {
            Some((ns, name)) => {
                let ns = if self.options.scrub_invalid_names {
                    ns.split('.').map(scrub_name).collect::<Vec<_>>().join(".")
                } else {
                    ns.to_string()
                };
                Ok((Some(ns).filter(|n| !n.is_empty()), self.avro_name(name)?))
            }
            None => Ok((None, self.avro_name(full)?)),
        }
    }

    /// A schema in a position that may be optional (field type, item, value, top level).
    fn schema(&mut self, s: &Schema, space: Option<&str>) -> Result<(), String> {
        if !s.optional {
            return self.base(s, space);
        }
        if null_first(s) {
            self.push("[\"null\",");
            self.base(s, space)?;
            self.push("]");
        } else {
            self.push("[");
            self.base(s, space)?;
            self.push(",\"null\"]");
        }
        Ok(())
    }

    /// The schema itself, without the optional union.
    fn base(&mut self, s: &Schema, space: Option<&str>) -> Result<(), String> {
        unsupported(s, self.options)?;
        match s.ty {
            SchemaType::Struct => self.record(s, space),
            SchemaType::Array => {
                let items = s.items.as_deref().ok_or("an array schema without items")?;
                self.push("{\"type\":\"array\",\"items\":");
                self.schema(items, space)?;
                self.props(s)?;
                self.push("}");
                Ok(())
            }
            SchemaType::Map => {
                let (Some(keys), Some(values)) = (s.keys.as_deref(), s.items.as_deref()) else {
                    return Err("a map schema without key or value schema".into());
                };
                if self.options.string_keyed(s) {
                    self.push("{\"type\":\"map\",\"values\":");
                    self.schema(values, space)?;
                } else {
                    self.push("{\"type\":\"array\",\"items\":");
                    self.map_entry(s, keys, values, space)?;
                }
                self.props(s)?;
                self.push("}");
                Ok(())
            }
            _ => self.primitive(s),
        }
    }

    fn primitive(&mut self, s: &Schema) -> Result<(), String> {
        let avro_type = match s.ty {
            SchemaType::Int8 | SchemaType::Int16 | SchemaType::Int32 => "int",
            SchemaType::Int64 => "long",
            SchemaType::Float32 => "float",
            SchemaType::Float64 => "double",
            SchemaType::Boolean => "boolean",
            SchemaType::String => "string",
            SchemaType::Bytes => "bytes",
            SchemaType::Array | SchemaType::Map | SchemaType::Struct => {
                return Err("a complex type where a primitive was expected".into())
            }
        };
        let mark = self.out.len();
        self.push("{\"type\":\"");
        self.push(avro_type);
        self.push("\"");
        let before_props = self.out.len();
        if s.ty == SchemaType::Bytes && is_decimal(s) {
            let scale = s
                .parameter("scale")
                .and_then(|v| v.parse::<i32>().ok())
                .ok_or("a Decimal schema without an integer `scale` parameter")?;
            let precision = match s.parameter(DECIMAL_PRECISION_PARAM) {
                Some(p) => p.parse::<u32>().map_err(|_| {
                    format!("a Decimal schema whose {DECIMAL_PRECISION_PARAM} is not an integer")
                })?,
                None => DECIMAL_PRECISION_DEFAULT,
            };
            self.push(&format!(",\"scale\":{scale},\"precision\":{precision}"));
        }
        self.props(s)?;
        if self.out.len() == before_props {
            // No properties: Avro Java prints the bare type name.
            self.out.truncate(mark);
            self.push("\"");
            self.push(avro_type);
            self.push("\"");
        } else {
            self.push("}");
        }
        Ok(())
    }

    /// The properties AvroData puts on a (non-union) Avro schema, in its order.
    fn props(&mut self, s: &Schema) -> Result<(), String> {
        if self.options.connect_meta_data {
            if let Some(doc) = &s.doc {
                self.push(",\"connect.doc\":");
                self.string(doc);
            }
            if let Some(version) = s.version {
                self.push(&format!(",\"connect.version\":{version}"));
            }
            let params: Vec<&(String, String)> = s
                .parameters
                .iter()
                .filter(|(k, _)| k != FIELD_DEFAULT_FLAG_PARAM)
                .collect();
            if !params.is_empty() {
                self.push(",\"connect.parameters\":{");
                for (i, (k, v)) in params.into_iter().enumerate() {
                    if i > 0 {
                        self.push(",");
                    }
                    self.string(k);
                    self.push(":");
                    self.string(v);
                }
                self.push("}");
            }
            if let Some(default) = &s.default {
                if s.parameter(FIELD_DEFAULT_FLAG_PARAM).is_none() {
                    self.push(",\"connect.default\":");
                    let mut buf = Vec::new();
                    self.default_json(&mut buf, s, default, false)?;
                    self.out.extend_from_slice(&buf);
                }
            }
            if let Some(name) = &s.name {
                self.push(",\"connect.name\":");
                self.string(name);
            }
            match s.ty {
                SchemaType::Int8 => self.push(",\"connect.type\":\"int8\""),
                SchemaType::Int16 => self.push(",\"connect.type\":\"int16\""),
                _ => {}
            }
        }
        if let Some(name) = &s.name {
            let logical = if name.eq_ignore_ascii_case(DECIMAL) {
                Some("decimal")
            } else if name.eq_ignore_ascii_case(TIME) {
                Some("time-millis")
            } else if name.eq_ignore_ascii_case(TIMESTAMP) {
                Some("timestamp-millis")
            } else if name.eq_ignore_ascii_case(DATE) {
                Some("date")
            } else {
                None
            };
            if let Some(logical) = logical {
                self.push(",\"logicalType\":\"");
                self.push(logical);
                self.push("\"");
            }
        }
        for (k, v) in &s.parameters {
            if k.starts_with("avro") {
                self.push(",");
                self.string(k);
                self.push(":");
                self.string(v);
            }
        }
        Ok(())
    }

    /// Write a reference if this named type was written before; `Ok(true)` when done.
    fn reference(&mut self, nonopt: &Schema, space: Option<&str>) -> bool {
        let Some(full) = self
            .seen
            .iter()
            .find(|(s, _)| s == nonopt)
            .map(|(_, n)| n.clone())
        else {
            return false;
        };
        let qualified = match (full.rsplit_once('.'), space) {
            (Some((ns, name)), Some(space)) if ns == space => name.to_string(),
            _ => full,
        };
        self.string(&qualified);
        true
    }

    /// Claim an Avro full name for a new named type.
    fn define(&mut self, nonopt: Schema, ns: Option<&str>, name: &str) -> Result<String, String> {
        let full = match ns {
            Some(ns) => format!("{ns}.{name}"),
            None => name.to_string(),
        };
        if !self.names.insert(full.clone()) {
            return Err(format!(
                "two different Connect schemas map to the Avro name {full} (Avro cannot define a name twice)"
            ));
        }
        self.seen.push((nonopt, full.clone()));
        Ok(full)
    }

    fn name_and_namespace(&mut self, ns: Option<&str>, name: &str, space: Option<&str>) {
        self.push(",\"name\":");
        self.string(name);
        match (ns, space) {
            (Some(ns), Some(space)) if ns == space => {}
            (Some(ns), _) => {
                self.push(",\"namespace\":");
                self.string(ns);
            }
            (None, Some(_)) => self.push(",\"namespace\":\"\""),
            (None, None) => {}
        }
    }

    fn default_name(&mut self) -> (Option<String>, String) {
        self.unnamed += 1;
        let name = if self.unnamed > 1 {
            format!("ConnectDefault{}", self.unnamed)
        } else {
            "ConnectDefault".to_string()
        };
        (Some(NAMESPACE.to_string()), name)
    }

    fn record(&mut self, s: &Schema, space: Option<&str>) -> Result<(), String> {
        let nonopt = non_optional(s);
        if self.reference(&nonopt, space) {
            return Ok(());
        }
        let (ns, name) = match &s.name {
            Some(n) => self.split_name(n)?,
            None => self.default_name(),
        };
        self.define(nonopt, ns.as_deref(), &name)?;
        self.push("{\"type\":\"record\"");
        self.name_and_namespace(ns.as_deref(), &name, space);
        if let Some(doc) = s.parameter(RECORD_DOC_PARAM) {
            self.push(",\"doc\":");
            self.string(doc);
        }
        self.push(",\"fields\":[");
        for (i, f) in s.fields.iter().enumerate() {
            if i > 0 {
                self.push(",");
            }
            let fname = self.avro_name(&f.name)?;
            let doc = s.parameter(&format!("{FIELD_DOC_PARAM_PREFIX}{}", f.name));
            self.field(&fname, &f.schema, doc, ns.as_deref())?;
        }
        self.push("]");
        self.props(s)?;
        self.push("}");
        Ok(())
    }

    /// `{"name":…,"type":…,"doc":…,"default":…}` (AvroData's `addAvroRecordField`).
    fn field(
        &mut self,
        name: &str,
        schema: &Schema,
        doc: Option<&str>,
        space: Option<&str>,
    ) -> Result<(), String> {
        self.push("{\"name\":");
        self.string(name);
        self.push(",\"type\":");
        self.schema(schema, space)?;
        if let Some(doc) = doc {
            self.push(",\"doc\":");
            self.string(doc);
        }
        match &schema.default {
            Some(default) => {
                // Avro rejects a default that does not fit the field's (first union) type;
                // AvroData then drops it with a warning, and so does this.
                let mut buf = Vec::new();
                self.default_json(&mut buf, schema, default, true)?;
                if default_fits(schema, default, self.options) {
                    self.push(",\"default\":");
                    self.out.extend_from_slice(&buf);
                }
            }
            None if schema.optional => self.push(",\"default\":null"),
            None => {}
        }
        self.push("}");
        Ok(())
    }

    /// The record of a map whose keys Avro cannot take: `MapEntry {key, value}`.
    fn map_entry(
        &mut self,
        map: &Schema,
        keys: &Schema,
        values: &Schema,
        space: Option<&str>,
    ) -> Result<(), String> {
        // Identity of the entry record: the map's key and value schemas (and name).
        let identity = Schema {
            ty: SchemaType::Map,
            name: map.name.clone(),
            ..Schema::map(keys.clone(), values.clone())
        };
        if self.reference(&identity, space) {
            return Ok(());
        }
        let (ns, name) = match &map.name {
            Some(n) => self.split_name(n)?,
            None => (Some(NAMESPACE.to_string()), "MapEntry".to_string()),
        };
        self.define(identity, ns.as_deref(), &name)?;
        self.push("{\"type\":\"record\"");
        self.name_and_namespace(ns.as_deref(), &name, space);
        self.push(",\"fields\":[");
        self.field("key", keys, None, ns.as_deref())?;
        self.push(",");
        self.field("value", values, None, ns.as_deref())?;
        self.push("]");
        if map.name.is_some() {
            self.push(",\"connect.internal.type\":\"MapEntry\"");
        }
        self.push("}");
        Ok(())
    }

    /// AvroData's `defaultValueFromConnect` as JSON. `field` is the field-default position, where
    /// Avro Java re-reads floats as doubles (`connect.default` keeps the float).
    fn default_json(
        &self,
        out: &mut Vec<u8>,
        s: &Schema,
        v: &Value,
        field: bool,
    ) -> Result<(), String> {
        let mismatch = || {
            format!(
                "the default of a {} schema{} is not a {} value",
                s.ty.json_name(),
                s.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default(),
                s.ty.json_name()
            )
        };
        match (s.ty, v) {
            (_, Value::Null) => out.extend_from_slice(b"null"),
            (SchemaType::Int8, Value::Int8(x)) => out.extend_from_slice(x.to_string().as_bytes()),
            (SchemaType::Int16, Value::Int16(x)) => out.extend_from_slice(x.to_string().as_bytes()),
            (SchemaType::Int32, Value::Int32(x)) => out.extend_from_slice(x.to_string().as_bytes()),
            (SchemaType::Int64, Value::Int64(x)) => out.extend_from_slice(x.to_string().as_bytes()),
            (SchemaType::Float32, Value::Float32(x)) => {
                if field {
                    write_java_double(out, f64::from(*x))
                } else {
                    write_java_float(out, *x)
                }
            }
            (SchemaType::Float64, Value::Float64(x)) => write_java_double(out, *x),
            (SchemaType::Boolean, Value::Boolean(b)) => {
                out.extend_from_slice(if *b { b"true" } else { b"false" })
            }
            (SchemaType::String, Value::String(x)) => write_str(out, x),
            // Bytes as a string of ISO-8859-1 characters, one per byte (Avro's JSON encoding).
            (SchemaType::Bytes, Value::Bytes(b)) => {
                let latin1: String = b.iter().map(|&c| char::from(c)).collect();
                write_str(out, &latin1);
            }
            (SchemaType::Array, Value::Array(items)) => {
                let item_schema = s.items.as_deref().ok_or_else(mismatch)?;
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.default_json(out, item_schema, item, field)?;
                }
                out.push(b']');
            }
            (SchemaType::Map, Value::Map(entries)) => {
                let (Some(ks), Some(vs)) = (s.keys.as_deref(), s.items.as_deref()) else {
                    return Err(mismatch());
                };
                if self.options.string_keyed(s) {
                    out.push(b'{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        let Value::String(k) = k else {
                            return Err(mismatch());
                        };
                        write_str(out, k);
                        out.push(b':');
                        self.default_json(out, vs, v, field)?;
                    }
                    out.push(b'}');
                } else {
                    out.push(b'[');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.push(b'[');
                        self.default_json(out, ks, k, field)?;
                        out.push(b',');
                        self.default_json(out, vs, v, field)?;
                        out.push(b']');
                    }
                    out.push(b']');
                }
            }
            (SchemaType::Struct, Value::Struct(values)) => {
                if values.len() != s.fields.len() {
                    return Err(mismatch());
                }
                out.push(b'{');
                for (i, (f, v)) in s.fields.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(out, &self.avro_name(&f.name)?);
                    out.push(b':');
                    // Connect's Struct.get: a null field reads as the field's default.
                    let v = match (v, &f.schema.default) {
                        (Value::Null, Some(d)) => d,
                        _ => v,
                    };
                    self.default_json(out, &f.schema, v, field)?;
                }
                out.push(b'}');
            }
            _ => return Err(mismatch()),
        }
        Ok(())
    }
}

fn is_decimal(s: &Schema) -> bool {
    s.name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(DECIMAL))
}

/// Connect shapes AvroData maps to Avro enums, unions and fixed types: Debezium never produces
/// them, and this converter does not write them, so they fail clearly instead of silently
/// taking another form.
fn unsupported(s: &Schema, options: &AvroDataOptions) -> Result<(), String> {
    let what = if s.name.as_deref() == Some(UNION_NAME)
        || s.parameter(GENERALIZED_UNION_PARAM).is_some()
    {
        Some("a Connect union (io.confluent.connect.avro.Union)")
    } else if s.ty == SchemaType::String
        && (s.parameter(GENERALIZED_ENUM_PARAM).is_some()
            || (options.enhanced_avro_schema_support && s.parameter(ENUM_PARAM).is_some()))
    {
        Some("an Avro enum (io.confluent.connect.avro.Enum)")
    } else if s.ty == SchemaType::Bytes
        && s.name.is_some()
        && s.parameter(FIXED_SIZE_PARAM).is_some()
    {
        Some("an Avro fixed (connect.fixed.size)")
    } else {
        None
    };
    match what {
        Some(w) => Err(format!(
            "{w} schemas are not supported by Sluice's Avro converter"
        )),
        None => Ok(()),
    }
}

/// Whether a default fits the Avro field type AvroData makes of `s` (a union's default must
/// be of its first branch); AvroData drops defaults that do not.
fn default_fits(s: &Schema, v: &Value, options: &AvroDataOptions) -> bool {
    if s.optional && null_first(s) {
        return v.is_null();
    }
    match (s.ty, v) {
        (_, Value::Null) => false,
        (SchemaType::Array, Value::Array(items)) => s
            .items
            .as_deref()
            .is_some_and(|is| items.iter().all(|i| default_fits(is, i, options))),
        (SchemaType::Map, Value::Map(entries)) => {
            if options.string_keyed(s) {
                s.items
                    .as_deref()
                    .is_some_and(|vs| entries.iter().all(|(_, v)| default_fits(vs, v, options)))
            } else {
                // Written as [[k, v], …]: not records, so only an empty map fits.
                entries.is_empty()
            }
        }
        (SchemaType::Struct, Value::Struct(values)) => s.fields.iter().zip(values).all(|(f, v)| {
            let v = match (v, &f.schema.default) {
                (Value::Null, Some(d)) => d,
                _ => v,
            };
            default_fits(&f.schema, v, options)
        }),
        _ => true,
    }
}
