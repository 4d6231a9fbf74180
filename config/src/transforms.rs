//! The connector keys that configure Single Message Transforms, exactly as Kafka Connect reads
//! them: `transforms` (aliases, in order), `transforms.<alias>.type` (a class), the class's own
//! `transforms.<alias>.<key>` settings, `transforms.<alias>.predicate` / `.negate`, the
//! `predicates` list with `predicates.<alias>.*`, and `errors.*`.
//!
//! ```text
//! connector map --TransformsConfig::from_map--> [TransformSpec { alias, plugin, props }] in order
//!                                               [PredicateSpec { alias, plugin, props }]
//!                                               ErrorHandling { tolerance, log, retry, dead letter queue }
//!                                          \--> ConfigErrors, one per bad key
//! ```
//! The catalog ([`PLUGINS`]) names every transformation and predicate Sluice runs, with the
//! config keys each one takes (Kafka's `ConfigKeyInfo`), for the REST plugin endpoints. A class
//! is found by its fully qualified name or by a Connect alias (the simple class name, with or
//! without a `Transformation` / `Predicate` suffix; for nested classes `ExtractField$Key`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{ConfigErrors, KeyError};

/// The Kafka Connect release whose transformations these are (`version` in the plugin list).
pub const KAFKA_VERSION: &str = "3.9.0";
/// The Debezium release whose transformations these are.
pub const DEBEZIUM_VERSION: &str = "3.0.0.Final";

/// Whether a plugin is a transformation or a predicate (Connect's `PluginType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginType {
    Transformation,
    Predicate,
}

impl PluginType {
    /// How Connect spells it in the plugin list.
    pub fn as_str(self) -> &'static str {
        match self {
            PluginType::Transformation => "transformation",
            PluginType::Predicate => "predicate",
        }
    }
}

/// A config key's type (`ConfigDef.Type`), as the REST API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyType {
    Boolean,
    String,
    Int,
    Long,
    List,
}

/// How much a key matters (`ConfigDef.Importance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Importance {
    High,
    Medium,
    Low,
}

/// What a key holds when it is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDefault {
    /// Must be set.
    Required,
    /// `null`: the plugin treats the key as unset.
    Null,
    /// This value, as written in a properties file.
    Value(&'static str),
}

/// One config key of a plugin (`ConfigDef.ConfigKey`).
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    pub name: &'static str,
    pub ty: KeyType,
    pub default: KeyDefault,
    pub importance: Importance,
    pub documentation: &'static str,
    /// The accepted values, when the key is an enumeration.
    pub allowed: &'static [&'static str],
    /// Whether `allowed` is matched ignoring ASCII case (Debezium's enums, some of Kafka's).
    pub ignore_case: bool,
    /// A list that must have at least one element (Kafka's `NonEmptyListValidator`).
    pub non_empty: bool,
}

impl KeyDef {
    const fn new(
        name: &'static str,
        ty: KeyType,
        default: KeyDefault,
        importance: Importance,
        documentation: &'static str,
    ) -> KeyDef {
        KeyDef {
            name,
            ty,
            default,
            importance,
            documentation,
            allowed: &[],
            ignore_case: false,
            non_empty: false,
        }
    }

    const fn one_of(mut self, allowed: &'static [&'static str], ignore_case: bool) -> KeyDef {
        self.allowed = allowed;
        self.ignore_case = ignore_case;
        self
    }

    const fn non_empty(mut self) -> KeyDef {
        self.non_empty = true;
        self
    }

    /// The key as Kafka's `GET /connector-plugins/{plugin}/config` lists it.
    pub fn info(&self) -> ConfigKeyInfo {
        ConfigKeyInfo {
            name: self.name,
            ty: self.ty,
            required: self.default == KeyDefault::Required,
            default_value: match self.default {
                KeyDefault::Value(v) => Some(v),
                KeyDefault::Required | KeyDefault::Null => None,
            },
            importance: self.importance,
            documentation: self.documentation,
            group: None,
            order: -1,
            width: "NONE",
            display_name: self.name,
            dependents: Vec::new(),
        }
    }

    /// Checks a value written for this key; the message names `full_key`.
    fn check(&self, full_key: &str, value: &str) -> Result<(), String> {
        let v = value.trim();
        match self.ty {
            KeyType::Boolean => {
                if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) {
                    return Err(format!(
                        "invalid value \"{v}\" for {full_key}: expected true or false"
                    ));
                }
            }
            KeyType::Int => {
                if v.parse::<i32>().is_err() {
                    return Err(format!(
                        "invalid value \"{v}\" for {full_key}: expected a 32-bit integer"
                    ));
                }
            }
            KeyType::Long => {
                if v.parse::<i64>().is_err() {
                    return Err(format!(
                        "invalid value \"{v}\" for {full_key}: expected an integer"
                    ));
                }
            }
            KeyType::List => {
                if self.non_empty && list(v).is_empty() {
                    return Err(format!(
                        "empty list for {full_key}: name at least one element"
                    ));
                }
            }
            KeyType::String => {}
        }
        if !self.allowed.is_empty() {
            let ok = self.allowed.iter().any(|a| {
                if self.ignore_case {
                    a.eq_ignore_ascii_case(v)
                } else {
                    *a == v
                }
            });
            if !ok {
                return Err(format!(
                    "invalid value \"{v}\" for {full_key}: expected one of {}",
                    self.allowed.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Kafka Connect's `ConfigKeyInfo`, serialised with its REST field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigKeyInfo {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: KeyType,
    pub required: bool,
    pub default_value: Option<&'static str>,
    pub importance: Importance,
    pub documentation: &'static str,
    pub group: Option<&'static str>,
    pub order: i32,
    pub width: &'static str,
    pub display_name: &'static str,
    pub dependents: Vec<&'static str>,
}

/// One transformation or predicate class Sluice runs.
#[derive(Debug)]
pub struct PluginDef {
    /// The fully qualified class, with `$` before a nested class (`...ExtractField$Key`).
    pub class: &'static str,
    pub plugin_type: PluginType,
    pub version: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    pub keys: &'static [KeyDef],
}

impl PluginDef {
    /// The simple name Connect accepts as an alias (`ExtractField$Key`, `ValueToKey`).
    pub fn simple_name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }

    /// The key called `name`.
    pub fn key(&self, name: &str) -> Option<&'static KeyDef> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// The plugin as Kafka's `GET /connector-plugins?connectorsOnly=false` lists it.
    pub fn info(&self) -> PluginInfo {
        PluginInfo {
            class: self.class,
            plugin_type: self.plugin_type,
            version: self.version,
        }
    }

    /// Its config keys as `GET /connector-plugins/{plugin}/config` lists them.
    pub fn config_keys(&self) -> Vec<ConfigKeyInfo> {
        self.keys.iter().map(KeyDef::info).collect()
    }
}

/// Kafka Connect's `PluginInfo` (`class`, `type`, `version`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginInfo {
    pub class: &'static str,
    #[serde(rename = "type")]
    pub plugin_type: PluginType,
    pub version: &'static str,
}

use Importance::{High, Low, Medium};
use KeyDefault::{Null, Required, Value as Def};
use KeyType::{Boolean, Int, List, String as Str};

const REPLACE_NULL: KeyDef = KeyDef::new(
    "replace.null.with.default",
    Boolean,
    Def("true"),
    Medium,
    "Whether a null field value is replaced by the default of its schema when the field is copied.",
);

const INSERT_FIELD_KEYS: &[KeyDef] = &[
    KeyDef::new("topic.field", Str, Null, Medium, "Field for the record's topic. Suffix '!' makes it required, '?' (default) optional."),
    KeyDef::new("partition.field", Str, Null, Medium, "Field for the record's Kafka partition. Suffix '!' or '?' as for topic.field."),
    KeyDef::new("offset.field", Str, Null, Medium, "Field for the Kafka offset; sink records only, so a source connector fails on it."),
    KeyDef::new("timestamp.field", Str, Null, Medium, "Field for the record timestamp (a Connect Timestamp). Suffix '!' or '?' as for topic.field."),
    KeyDef::new("static.field", Str, Null, Medium, "Field for a fixed string. Suffix '!' or '?' as for topic.field."),
    KeyDef::new("static.value", Str, Null, Medium, "The fixed string written to static.field."),
    REPLACE_NULL,
];

const REPLACE_FIELD_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "exclude",
        List,
        Def(""),
        Medium,
        "Fields to drop; takes precedence over include.",
    ),
    KeyDef::new(
        "include",
        List,
        Def(""),
        Medium,
        "Fields to keep; when set, all others are dropped.",
    ),
    KeyDef::new(
        "renames",
        List,
        Def(""),
        Medium,
        "Renames as old:new pairs.",
    ),
    KeyDef::new("blacklist", List, Null, Low, "Former name of exclude."),
    KeyDef::new("whitelist", List, Null, Low, "Former name of include."),
    REPLACE_NULL,
];

const MASK_FIELD_KEYS: &[KeyDef] = &[
    KeyDef::new("fields", List, Required, High, "Fields to mask.").non_empty(),
    KeyDef::new(
        "replacement",
        Str,
        Null,
        Low,
        "Value written instead of the type's empty value (numeric and string fields only).",
    ),
    REPLACE_NULL,
];

const VALUE_TO_KEY_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "fields",
        List,
        Required,
        High,
        "Value fields copied into a new struct key.",
    )
    .non_empty(),
    REPLACE_NULL,
];

const EXTRACT_FIELD_KEYS: &[KeyDef] = &[
    KeyDef::new("field", Str, Required, Medium, "The field to extract; a dotted path with field.syntax.version=V2."),
    KeyDef::new("field.syntax.version", Str, Def("V1"), High, "V1: field names are literal; V2: dots separate nested fields, backticks quote names that contain dots.")
        .one_of(&["V1", "V2"], true),
    REPLACE_NULL,
];

const HOIST_FIELD_KEYS: &[KeyDef] = &[KeyDef::new(
    "field",
    Str,
    Required,
    Medium,
    "Name of the single field of the struct (or map) that wraps the original data.",
)];

const CAST_KEYS: &[KeyDef] = &[
    KeyDef::new("spec", List, Required, High, "field:type pairs, or a single type for the whole value; types are int8, int16, int32, int64, float32, float64, boolean, string.").non_empty(),
    REPLACE_NULL,
];

const TIMESTAMP_CONVERTER_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "field",
        Str,
        Def(""),
        High,
        "The field holding the timestamp; empty for the whole value.",
    ),
    KeyDef::new(
        "target.type",
        Str,
        Required,
        High,
        "The type to convert to.",
    )
    .one_of(&["string", "unix", "Date", "Time", "Timestamp"], false),
    KeyDef::new(
        "format",
        Str,
        Def(""),
        Medium,
        "A java.text.SimpleDateFormat pattern, for string input or output.",
    ),
    KeyDef::new(
        "unix.precision",
        Str,
        Def("milliseconds"),
        Low,
        "The unit of unix timestamps, read and written.",
    )
    .one_of(
        &["nanoseconds", "microseconds", "milliseconds", "seconds"],
        false,
    ),
    REPLACE_NULL,
];

const REGEX_ROUTER_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "regex",
        Str,
        Required,
        High,
        "Java regular expression the whole topic name must match.",
    ),
    KeyDef::new(
        "replacement",
        Str,
        Required,
        High,
        "The new topic name; $1, ${name} refer to capture groups.",
    ),
];

const TIMESTAMP_ROUTER_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "topic.format",
        Str,
        Def("${topic}-${timestamp}"),
        High,
        "Topic name pattern with ${topic} and ${timestamp} placeholders.",
    ),
    KeyDef::new(
        "timestamp.format",
        Str,
        Def("yyyyMMdd"),
        High,
        "SimpleDateFormat pattern for ${timestamp}, in UTC.",
    ),
];

const FLATTEN_KEYS: &[KeyDef] = &[KeyDef::new(
    "delimiter",
    Str,
    Def("."),
    Medium,
    "Placed between the names of a nested field and its parents.",
)];

const HEADER_FROM_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "fields",
        List,
        Required,
        High,
        "Fields whose values go to headers.",
    )
    .non_empty(),
    KeyDef::new(
        "headers",
        List,
        Required,
        High,
        "Header names, one per field, in the same order.",
    )
    .non_empty(),
    KeyDef::new(
        "operation",
        Str,
        Required,
        High,
        "move removes the fields from the key/value, copy keeps them.",
    )
    .one_of(&["move", "copy"], false),
    REPLACE_NULL,
];

const INSERT_HEADER_KEYS: &[KeyDef] = &[
    KeyDef::new("header", Str, Required, High, "Name of the header to add."),
    KeyDef::new("value.literal", Str, Required, High, "Value of the header."),
];

const DROP_HEADERS_KEYS: &[KeyDef] = &[KeyDef::new(
    "headers",
    List,
    Required,
    High,
    "Names of the headers to remove.",
)
.non_empty()];

const SET_SCHEMA_METADATA_KEYS: &[KeyDef] = &[
    KeyDef::new("schema.name", Str, Null, High, "New schema name."),
    KeyDef::new("schema.version", Int, Null, High, "New schema version."),
    REPLACE_NULL,
];

const EXTRACT_NEW_RECORD_STATE_KEYS: &[KeyDef] = &[
    KeyDef::new("delete.tombstone.handling.mode", Str, Def("tombstone"), Medium, "What happens to delete events and tombstones: drop, tombstone (a delete becomes a null value, tombstones are dropped), rewrite (the before image with __deleted=true, tombstones dropped), rewrite-with-tombstone (rewrite, tombstones kept), delete-to-tombstone (a delete becomes a tombstone, tombstones dropped).")
        .one_of(&["drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone"], true),
    KeyDef::new("route.by.field", Str, Def(""), Low, "Field of the row image whose value becomes the topic."),
    KeyDef::new("add.fields.prefix", Str, Def("__"), Low, "Prefix of the fields add.fields adds."),
    KeyDef::new("add.fields", List, Def(""), Low, "Envelope fields added to the value: op, ts_ms, table, source.ts_ms, transaction.id, ...; field:name renames."),
    KeyDef::new("add.headers.prefix", Str, Def("__"), Low, "Prefix of the headers add.headers adds."),
    KeyDef::new("add.headers", List, Def(""), Low, "Envelope fields added as headers, named as for add.fields."),
    KeyDef::new("drop.fields.header.name", Str, Null, Low, "Header listing fields to remove from the value (and key with drop.fields.from.key)."),
    KeyDef::new("drop.fields.from.key", Boolean, Def("false"), Low, "Whether drop.fields.header.name also applies to the key."),
    KeyDef::new("drop.fields.keep.schema.compatible", Boolean, Def("true"), Low, "Whether only optional fields are dropped."),
    KeyDef::new("drop.tombstones", Boolean, Null, Low, "Deprecated; used only when delete.tombstone.handling.mode is not set."),
    KeyDef::new("delete.handling.mode", Str, Null, Low, "Deprecated (drop, rewrite, none); used only when delete.tombstone.handling.mode is not set.")
        .one_of(&["drop", "rewrite", "none"], true),
    KeyDef::new("replace.null.with.default", Boolean, Def("true"), Low, "Whether null values are replaced by the column default when the record is rewritten."),
];

const BY_LOGICAL_TABLE_ROUTER_KEYS: &[KeyDef] = &[
    KeyDef::new(
        "topic.regex",
        Str,
        Required,
        Low,
        "Java regular expression the whole topic name must match.",
    ),
    KeyDef::new(
        "topic.replacement",
        Str,
        Required,
        Low,
        "The logical table's topic; $1, ${name} refer to capture groups.",
    ),
    KeyDef::new(
        "key.enforce.uniqueness",
        Boolean,
        Def("true"),
        Low,
        "Whether a field naming the physical table is added to the key.",
    ),
    KeyDef::new(
        "key.field.name",
        Str,
        Def("__dbz__physicalTableIdentifier"),
        Low,
        "Name of that key field.",
    ),
    KeyDef::new(
        "key.field.regex",
        Str,
        Null,
        Low,
        "Regular expression over the original topic that derives the key field's value.",
    ),
    KeyDef::new(
        "key.field.replacement",
        Str,
        Null,
        Low,
        "Replacement used with key.field.regex.",
    ),
    KeyDef::new(
        "schema.name.adjustment.mode",
        Str,
        Def("none"),
        Low,
        "none, or avro to replace characters Avro does not allow in schema names.",
    )
    .one_of(&["none", "avro", "avro_unicode"], true),
    KeyDef::new(
        "logical.table.cache.size",
        Int,
        Def("16"),
        Low,
        "Accepted for compatibility; Sluice caches per schema.",
    ),
];

const EVENT_ROUTER_KEYS: &[KeyDef] = &[
    KeyDef::new("table.field.event.id", Str, Def("id"), Low, "Column with the event id (sent as header id)."),
    KeyDef::new("table.field.event.key", Str, Def("aggregateid"), Low, "Column with the record key."),
    KeyDef::new("table.field.event.type", Str, Def("type"), Low, "Column with the event type."),
    KeyDef::new("table.field.event.payload", Str, Def("payload"), Low, "Column with the event payload (the record value)."),
    KeyDef::new("table.field.event.timestamp", Str, Null, Medium, "Column with the record timestamp; default: the event's ts_ms."),
    KeyDef::new("table.fields.additional.placement", List, Null, High, "Extra columns as column:header|envelope|partition[:alias]."),
    KeyDef::new("table.fields.additional.error.on.missing", Boolean, Def("true"), Medium, "Whether a missing additional column fails the record."),
    KeyDef::new("table.field.event.schema.version", Str, Null, Low, "Column with the version of the value schema."),
    KeyDef::new("table.op.invalid.behavior", Str, Def("warn"), Medium, "What an update of the outbox table does: warn, error (both skip it) or fatal.")
        .one_of(&["warn", "error", "fatal"], true),
    KeyDef::new("table.expand.json.payload", Boolean, Def("false"), Medium, "Whether a JSON string payload is expanded into a struct with an inferred schema."),
    KeyDef::new("table.json.payload.null.behavior", Str, Def("ignore"), Medium, "JSON nulls in an expanded payload: ignore drops the field, optional_bytes keeps it as optional bytes.")
        .one_of(&["ignore", "optional_bytes"], true),
    KeyDef::new("route.by.field", Str, Def("aggregatetype"), High, "Column whose value routes the event."),
    KeyDef::new("route.topic.regex", Str, Def("(?<routedByValue>.*)"), Low, "Java regular expression over the route.by.field value."),
    KeyDef::new("route.topic.replacement", Str, Def("outbox.event.${routedByValue}"), High, "The topic, with capture groups of route.topic.regex."),
    KeyDef::new("route.tombstone.on.empty.payload", Boolean, Def("false"), High, "Whether an empty or null payload becomes a tombstone."),
];

const SCRIPT_KEYS_FILTER: &[KeyDef] = &[
    KeyDef::new(
        "language",
        Str,
        Required,
        High,
        "jsr223.groovy, jsr223.graal.js (evaluated by Sluice as CEL, see docs) or cel.",
    ),
    KeyDef::new(
        "condition",
        Str,
        Required,
        High,
        "Expression that keeps the record when true.",
    ),
    KeyDef::new(
        "topic.regex",
        Str,
        Null,
        Low,
        "Only records whose topic matches are evaluated; others pass.",
    ),
    KeyDef::new(
        "null.handling.mode",
        Str,
        Def("keep"),
        Low,
        "Records with a null value: keep, drop, or evaluate.",
    )
    .one_of(&["keep", "drop", "evaluate"], true),
];

const SCRIPT_KEYS_ROUTER: &[KeyDef] = &[
    KeyDef::new(
        "language",
        Str,
        Required,
        High,
        "jsr223.groovy, jsr223.graal.js (evaluated by Sluice as CEL, see docs) or cel.",
    ),
    KeyDef::new(
        "topic.expression",
        Str,
        Required,
        High,
        "Expression giving the topic; null keeps the topic.",
    ),
    KeyDef::new(
        "topic.regex",
        Str,
        Null,
        Low,
        "Only records whose topic matches are evaluated; others pass.",
    ),
    KeyDef::new(
        "null.handling.mode",
        Str,
        Def("keep"),
        Low,
        "Records with a null value: keep, drop, or evaluate.",
    )
    .one_of(&["keep", "drop", "evaluate"], true),
];

const TOPIC_NAME_MATCHES_KEYS: &[KeyDef] = &[KeyDef::new(
    "pattern",
    Str,
    Required,
    Medium,
    "Java regular expression the whole topic name must match.",
)];

const HAS_HEADER_KEY_KEYS: &[KeyDef] = &[KeyDef::new(
    "name",
    Str,
    Required,
    Medium,
    "The header name.",
)];

macro_rules! kafka {
    ($class:literal, $summary:literal, $keys:expr) => {
        PluginDef {
            class: concat!("org.apache.kafka.connect.transforms.", $class),
            plugin_type: PluginType::Transformation,
            version: KAFKA_VERSION,
            summary: $summary,
            keys: $keys,
        }
    };
}

macro_rules! kafka_kv {
    ($class:literal, $summary:literal, $keys:expr) => {
        [
            PluginDef {
                class: concat!("org.apache.kafka.connect.transforms.", $class, "$Key"),
                plugin_type: PluginType::Transformation,
                version: KAFKA_VERSION,
                summary: $summary,
                keys: $keys,
            },
            PluginDef {
                class: concat!("org.apache.kafka.connect.transforms.", $class, "$Value"),
                plugin_type: PluginType::Transformation,
                version: KAFKA_VERSION,
                summary: $summary,
                keys: $keys,
            },
        ]
    };
}

/// Every plugin Sluice runs, transformations first.
pub static PLUGINS: &[PluginDef] = &{
    let [insert_k, insert_v] = kafka_kv!(
        "InsertField",
        "Inserts the topic, partition, timestamp or a static string as a field.",
        INSERT_FIELD_KEYS
    );
    let [replace_k, replace_v] = kafka_kv!(
        "ReplaceField",
        "Keeps, drops and renames fields.",
        REPLACE_FIELD_KEYS
    );
    let [mask_k, mask_v] = kafka_kv!(
        "MaskField",
        "Replaces field values with the empty value of their type or a replacement.",
        MASK_FIELD_KEYS
    );
    let [extract_k, extract_v] = kafka_kv!(
        "ExtractField",
        "Replaces the struct or map with one of its fields.",
        EXTRACT_FIELD_KEYS
    );
    let [hoist_k, hoist_v] = kafka_kv!(
        "HoistField",
        "Wraps the data in a struct or map with one field.",
        HOIST_FIELD_KEYS
    );
    let [cast_k, cast_v] = kafka_kv!(
        "Cast",
        "Casts fields, or the whole value, to another primitive type.",
        CAST_KEYS
    );
    let [ts_k, ts_v] = kafka_kv!(
        "TimestampConverter",
        "Converts timestamps between unix, string and the Connect Date, Time and Timestamp types.",
        TIMESTAMP_CONVERTER_KEYS
    );
    let [flatten_k, flatten_v] = kafka_kv!(
        "Flatten",
        "Flattens nested structs and maps into one level.",
        FLATTEN_KEYS
    );
    let [header_k, header_v] = kafka_kv!(
        "HeaderFrom",
        "Moves or copies fields into headers.",
        HEADER_FROM_KEYS
    );
    let [meta_k, meta_v] = kafka_kv!(
        "SetSchemaMetadata",
        "Sets the schema name and/or version.",
        SET_SCHEMA_METADATA_KEYS
    );
    [
        insert_k,
        insert_v,
        replace_k,
        replace_v,
        mask_k,
        mask_v,
        kafka!(
            "ValueToKey",
            "Replaces the key with a struct of value fields.",
            VALUE_TO_KEY_KEYS
        ),
        extract_k,
        extract_v,
        hoist_k,
        hoist_v,
        cast_k,
        cast_v,
        ts_k,
        ts_v,
        kafka!(
            "RegexRouter",
            "Renames the topic with a regular expression and replacement.",
            REGEX_ROUTER_KEYS
        ),
        kafka!(
            "TimestampRouter",
            "Renames the topic from the original topic and the record timestamp.",
            TIMESTAMP_ROUTER_KEYS
        ),
        kafka!(
            "Filter",
            "Drops every record (use it with a predicate).",
            &[]
        ),
        flatten_k,
        flatten_v,
        header_k,
        header_v,
        kafka!(
            "InsertHeader",
            "Adds a header with a literal value.",
            INSERT_HEADER_KEYS
        ),
        kafka!("DropHeaders", "Removes headers by name.", DROP_HEADERS_KEYS),
        meta_k,
        meta_v,
        PluginDef {
            class: "io.debezium.transforms.ExtractNewRecordState",
            plugin_type: PluginType::Transformation,
            version: DEBEZIUM_VERSION,
            summary: "Replaces the change event envelope with the row state after the change.",
            keys: EXTRACT_NEW_RECORD_STATE_KEYS,
        },
        PluginDef {
            class: "io.debezium.transforms.ByLogicalTableRouter",
            plugin_type: PluginType::Transformation,
            version: DEBEZIUM_VERSION,
            summary: "Routes the events of several physical tables to one logical table's topic.",
            keys: BY_LOGICAL_TABLE_ROUTER_KEYS,
        },
        PluginDef {
            class: "io.debezium.transforms.outbox.EventRouter",
            plugin_type: PluginType::Transformation,
            version: DEBEZIUM_VERSION,
            summary: "Turns rows inserted into an outbox table into events on their own topics.",
            keys: EVENT_ROUTER_KEYS,
        },
        PluginDef {
            class: "io.debezium.transforms.Filter",
            plugin_type: PluginType::Transformation,
            version: DEBEZIUM_VERSION,
            summary: "Keeps the records for which an expression is true.",
            keys: SCRIPT_KEYS_FILTER,
        },
        PluginDef {
            class: "io.debezium.transforms.ContentBasedRouter",
            plugin_type: PluginType::Transformation,
            version: DEBEZIUM_VERSION,
            summary: "Routes each record to the topic an expression gives.",
            keys: SCRIPT_KEYS_ROUTER,
        },
        PluginDef {
            class: "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            plugin_type: PluginType::Predicate,
            version: KAFKA_VERSION,
            summary: "True when the topic name matches a regular expression.",
            keys: TOPIC_NAME_MATCHES_KEYS,
        },
        PluginDef {
            class: "org.apache.kafka.connect.transforms.predicates.HasHeaderKey",
            plugin_type: PluginType::Predicate,
            version: KAFKA_VERSION,
            summary: "True when the record has a header of the given name.",
            keys: HAS_HEADER_KEY_KEYS,
        },
        PluginDef {
            class: "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone",
            plugin_type: PluginType::Predicate,
            version: KAFKA_VERSION,
            summary: "True when the record value is null.",
            keys: &[],
        },
    ]
};

/// Every plugin, as the REST plugin list shows them.
pub fn plugins() -> Vec<PluginInfo> {
    PLUGINS.iter().map(PluginDef::info).collect()
}

/// Why a class name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// No plugin of that kind has this name; the closest names, best first.
    Unknown { near: Vec<&'static str> },
    /// The name is a plugin of the other kind.
    WrongType { class: &'static str },
    /// A simple name shared by several classes (Connect drops such aliases).
    Ambiguous { classes: Vec<&'static str> },
}

/// The plugin called `name`: its class (with `$` or `.` before a nested class), or a Connect
/// alias — the simple name, or the simple name without a `Transformation`/`Predicate` suffix.
pub fn resolve(plugin_type: PluginType, name: &str) -> Result<&'static PluginDef, ResolveError> {
    let name = name.trim();
    let matches = |p: &&'static PluginDef| names_match(p, name);
    let found: Vec<&'static PluginDef> = PLUGINS.iter().filter(matches).collect();
    let of_type: Vec<&'static PluginDef> = found
        .iter()
        .copied()
        .filter(|p| p.plugin_type == plugin_type)
        .collect();
    match of_type.as_slice() {
        [one] => Ok(one),
        [] => match found.first() {
            Some(p) => Err(ResolveError::WrongType { class: p.class }),
            None => Err(ResolveError::Unknown {
                near: near_names(plugin_type, name),
            }),
        },
        many => Err(ResolveError::Ambiguous {
            classes: many.iter().map(|p| p.class).collect(),
        }),
    }
}

fn names_match(p: &PluginDef, name: &str) -> bool {
    let dotted = p.class.replace('$', ".");
    if p.class == name || dotted == name {
        return true;
    }
    let simple = p.simple_name();
    let pruned = |s: &str| -> String {
        s.strip_suffix("Transformation")
            .or_else(|| s.strip_suffix("Predicate"))
            .unwrap_or(s)
            .to_string()
    };
    simple == name || (!name.contains('.') && pruned(simple) == pruned(name))
}

/// Up to three plugin names of `plugin_type` close to `name`, best first.
fn near_names(plugin_type: PluginType, name: &str) -> Vec<&'static str> {
    let wanted = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = PLUGINS
        .iter()
        .filter(|p| p.plugin_type == plugin_type)
        .filter_map(|p| {
            let simple = p.simple_name().to_ascii_lowercase();
            let base = simple.split('$').next().unwrap_or(&simple).to_string();
            let d = edit_distance(&wanted, &simple).min(edit_distance(&wanted, &base));
            let close = d <= 3.max(wanted.len() / 3)
                || (wanted.len() >= 4 && (simple.contains(&wanted) || wanted.contains(&base)));
            close.then_some((d, p.class))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A `ConfigDef.Type.LIST` value: comma-separated, each element trimmed, empty input empty.
pub fn list(value: &str) -> Vec<String> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    value.split(',').map(|s| s.trim().to_string()).collect()
}

/// `errors.tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorTolerance {
    /// A failed record fails the task.
    #[default]
    None,
    /// A failed record is skipped.
    All,
}

/// Default of `errors.retry.timeout`: failures are not retried.
pub const ERRORS_RETRY_TIMEOUT_MS_DEFAULT: i64 = 0;
/// Default of `errors.retry.delay.max.ms`.
pub const ERRORS_RETRY_DELAY_MAX_MS_DEFAULT: u64 = 60_000;
/// Default of `errors.deadletterqueue.topic.replication.factor` (Kafka Connect's).
pub const DLQ_REPLICATION_FACTOR_DEFAULT: i16 = 3;

/// The `errors.*` keys of a connector: how its transforms, converters and sink treat a record
/// that fails (Kafka Connect's `ConnectorConfig` / `SinkConnectorConfig` error handling).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorHandling {
    pub tolerance: ErrorTolerance,
    /// `errors.log.enable`: log each skipped record.
    pub log_enable: bool,
    /// `errors.log.include.messages`: include the record's key, value and headers in that log.
    pub log_include_messages: bool,
    /// `errors.retry.timeout`: how long a transient failure is retried, in ms; -1 forever, 0
    /// not at all.
    pub retry_timeout_ms: i64,
    /// `errors.retry.delay.max.ms`: the longest wait between two retries.
    pub retry_delay_max_ms: u64,
    /// `errors.deadletterqueue.*`: where records that can never be written go
    /// (`errors.tolerance=all` only).
    pub dead_letter_queue: Option<DeadLetterQueueConfig>,
}

impl Default for ErrorHandling {
    fn default() -> Self {
        ErrorHandling {
            tolerance: ErrorTolerance::None,
            log_enable: false,
            log_include_messages: false,
            retry_timeout_ms: ERRORS_RETRY_TIMEOUT_MS_DEFAULT,
            retry_delay_max_ms: ERRORS_RETRY_DELAY_MAX_MS_DEFAULT,
            dead_letter_queue: None,
        }
    }
}

/// `errors.deadletterqueue.topic.name` and its companions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQueueConfig {
    /// `errors.deadletterqueue.topic.name`.
    pub topic: String,
    /// `errors.deadletterqueue.topic.replication.factor` (-1: the brokers' default), used
    /// when Sluice creates the topic.
    pub replication_factor: i16,
    /// `errors.deadletterqueue.context.headers.enable`: add Connect's `__connect.errors.*`
    /// headers (stage, class, exception, ...) to each dead-lettered record.
    pub context_headers: bool,
}

/// One entry of `transforms`, resolved.
#[derive(Debug, Clone)]
pub struct TransformSpec {
    pub alias: String,
    pub plugin: &'static PluginDef,
    /// The class's own keys, without the `transforms.<alias>.` prefix (no `type`, `predicate`,
    /// `negate`), values trimmed.
    pub props: BTreeMap<String, String>,
    /// The predicate alias from `transforms.<alias>.predicate`.
    pub predicate: Option<String>,
    /// `transforms.<alias>.negate`.
    pub negate: bool,
}

impl TransformSpec {
    /// The full connector key of one of this transform's settings.
    pub fn key(&self, name: &str) -> String {
        format!("transforms.{}.{name}", self.alias)
    }
}

/// One entry of `predicates`, resolved.
#[derive(Debug, Clone)]
pub struct PredicateSpec {
    pub alias: String,
    pub plugin: &'static PluginDef,
    pub props: BTreeMap<String, String>,
}

impl PredicateSpec {
    /// The full connector key of one of this predicate's settings.
    pub fn key(&self, name: &str) -> String {
        format!("predicates.{}.{name}", self.alias)
    }
}

/// The transforms, predicates and error handling of one connector.
#[derive(Debug, Clone, Default)]
pub struct TransformsConfig {
    pub transforms: Vec<TransformSpec>,
    pub predicates: Vec<PredicateSpec>,
    pub errors: ErrorHandling,
}

impl TransformsConfig {
    /// Reads the keys from a connector's raw map; every bad key is reported.
    pub fn from_map(map: &BTreeMap<String, String>) -> Result<TransformsConfig, ConfigErrors> {
        let (config, errors) = Self::parse(map);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors { errors })
        }
    }

    /// Every error in the keys, empty when they are valid.
    pub fn validate(map: &BTreeMap<String, String>) -> Vec<KeyError> {
        Self::parse(map).1
    }

    /// What could be read, and the errors; the config is complete only without errors.
    pub fn parse(map: &BTreeMap<String, String>) -> (TransformsConfig, Vec<KeyError>) {
        let mut errors = Vec::new();
        let mut err = |key: &str, message: String| {
            errors.push(KeyError {
                key: key.to_string(),
                message,
            })
        };
        let predicate_aliases = aliases(map, "predicates", &mut err);
        let mut predicates = Vec::new();
        for alias in &predicate_aliases {
            if let Some((plugin, props)) =
                plugin_entry(map, "predicates", alias, PluginType::Predicate, &mut err)
            {
                predicates.push(PredicateSpec {
                    alias: alias.clone(),
                    plugin,
                    props,
                });
            }
        }
        let mut transforms = Vec::new();
        for alias in aliases(map, "transforms", &mut err) {
            let predicate_key = format!("transforms.{alias}.predicate");
            let predicate = map
                .get(&predicate_key)
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty());
            if let Some(p) = &predicate {
                if !predicate_aliases.contains(p) {
                    err(
                        &predicate_key,
                        format!(
                            "{predicate_key} names predicate \"{p}\", which is not defined: add it to predicates and set predicates.{p}.type"
                        ),
                    );
                }
            }
            let negate_key = format!("transforms.{alias}.negate");
            let negate = match map.get(&negate_key).map(|v| v.trim()) {
                None | Some("") => false,
                Some(v) if v.eq_ignore_ascii_case("true") => true,
                Some(v) if v.eq_ignore_ascii_case("false") => false,
                Some(v) => {
                    err(
                        &negate_key,
                        format!("invalid value \"{v}\" for {negate_key}: expected true or false"),
                    );
                    false
                }
            };
            if let Some((plugin, props)) = plugin_entry(
                map,
                "transforms",
                &alias,
                PluginType::Transformation,
                &mut err,
            ) {
                transforms.push(TransformSpec {
                    alias,
                    plugin,
                    props,
                    predicate,
                    negate,
                });
            }
        }
        let errors_config = error_handling(map, &mut err);
        (
            TransformsConfig {
                transforms,
                predicates,
                errors: errors_config,
            },
            errors,
        )
    }
}

/// The aliases listed under `list_key`, in order; a repeated alias is an error.
fn aliases(
    map: &BTreeMap<String, String>,
    list_key: &str,
    err: &mut impl FnMut(&str, String),
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for alias in list(map.get(list_key).map_or("", String::as_str)) {
        if alias.is_empty() {
            continue;
        }
        if out.contains(&alias) {
            err(
                list_key,
                format!(
                    "alias \"{alias}\" appears twice in {list_key}: each alias may be listed once"
                ),
            );
            continue;
        }
        out.push(alias);
    }
    out
}

/// Resolves `<prefix>.<alias>.type` and checks the plugin's keys under `<prefix>.<alias>.`.
fn plugin_entry(
    map: &BTreeMap<String, String>,
    prefix: &str,
    alias: &str,
    plugin_type: PluginType,
    err: &mut impl FnMut(&str, String),
) -> Option<(&'static PluginDef, BTreeMap<String, String>)> {
    let type_key = format!("{prefix}.{alias}.type");
    let what = plugin_type.as_str();
    let Some(class) = map
        .get(&type_key)
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    else {
        err(
            &type_key,
            format!(
                "missing required key {type_key}: name the {what} class of alias \"{alias}\", e.g. {}",
                match plugin_type {
                    PluginType::Transformation => "io.debezium.transforms.ExtractNewRecordState",
                    PluginType::Predicate =>
                        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
                }
            ),
        );
        return None;
    };
    let plugin = match resolve(plugin_type, class) {
        Ok(p) => p,
        Err(ResolveError::Unknown { near }) => {
            let hint = if near.is_empty() {
                format!(
                    "see GET /connector-plugins?connectorsOnly=false for the {what}s Sluice runs"
                )
            } else {
                format!("did you mean {}?", near.join(" or "))
            };
            err(
                &type_key,
                format!("unknown {what} class \"{class}\" in {type_key}: {hint}"),
            );
            return None;
        }
        Err(ResolveError::WrongType { class: found }) => {
            err(
                &type_key,
                format!(
                    "{type_key} names {found}, which is not a {what}: {}",
                    match plugin_type {
                        PluginType::Transformation => "predicates go in predicates.<alias>.type",
                        PluginType::Predicate => "transformations go in transforms.<alias>.type",
                    }
                ),
            );
            return None;
        }
        Err(ResolveError::Ambiguous { classes }) => {
            err(
                &type_key,
                format!(
                    "\"{class}\" in {type_key} is ambiguous: write the full class name, one of {}",
                    classes.join(", ")
                ),
            );
            return None;
        }
    };
    let key_prefix = format!("{prefix}.{alias}.");
    let mut props = BTreeMap::new();
    for (key, value) in map.range(key_prefix.clone()..) {
        let Some(name) = key.strip_prefix(&key_prefix) else {
            break;
        };
        let reserved = match plugin_type {
            PluginType::Transformation => ["type", "predicate", "negate"].contains(&name),
            PluginType::Predicate => name == "type",
        };
        if !reserved {
            props.insert(name.to_string(), value.trim().to_string());
        }
    }
    let mut ok = true;
    for def in plugin.keys {
        let full = format!("{key_prefix}{}", def.name);
        match props.get(def.name) {
            None => {
                if def.default == KeyDefault::Required {
                    err(
                        &full,
                        format!(
                            "missing required key {full}: {} needs it ({})",
                            plugin.simple_name(),
                            def.documentation
                        ),
                    );
                    ok = false;
                }
            }
            Some(v) => {
                if let Err(message) = def.check(&full, v) {
                    err(&full, message);
                    ok = false;
                }
            }
        }
    }
    ok.then_some((plugin, props))
}

fn error_handling(
    map: &BTreeMap<String, String>,
    err: &mut impl FnMut(&str, String),
) -> ErrorHandling {
    let mut bool_key = |key: &str| -> bool {
        match map.get(key).map(|v| v.trim()) {
            None | Some("") => false,
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            Some(v) => {
                err(
                    key,
                    format!("invalid value \"{v}\" for {key}: expected true or false"),
                );
                false
            }
        }
    };
    let log_enable = bool_key("errors.log.enable");
    let log_include_messages = bool_key("errors.log.include.messages");
    let context_headers = bool_key("errors.deadletterqueue.context.headers.enable");
    let tolerance = match map.get("errors.tolerance").map(|v| v.trim()) {
        None | Some("") => ErrorTolerance::None,
        Some(v) if v.eq_ignore_ascii_case("none") => ErrorTolerance::None,
        Some(v) if v.eq_ignore_ascii_case("all") => ErrorTolerance::All,
        Some(v) => {
            err(
                "errors.tolerance",
                format!("invalid value \"{v}\" for errors.tolerance: expected none or all"),
            );
            ErrorTolerance::None
        }
    };
    let mut int_key = |key: &str, min: i64, what: &str| -> Option<i64> {
        let v = map.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())?;
        match v.parse::<i64>() {
            Ok(n) if n >= min => Some(n),
            _ => {
                err(
                    key,
                    format!("invalid value \"{v}\" for {key}: expected {what}"),
                );
                None
            }
        }
    };
    let retry_timeout_ms = int_key(
        "errors.retry.timeout",
        -1,
        "milliseconds (0: no retries, -1: retry forever)",
    )
    .unwrap_or(ERRORS_RETRY_TIMEOUT_MS_DEFAULT);
    let retry_delay_max_ms = int_key(
        "errors.retry.delay.max.ms",
        1,
        "a positive number of milliseconds",
    )
    .map_or(ERRORS_RETRY_DELAY_MAX_MS_DEFAULT, |n| n as u64);
    let replication_factor = match int_key(
        "errors.deadletterqueue.topic.replication.factor",
        -1,
        "a replication factor of at least 1, or -1 for the brokers' default",
    ) {
        Some(0) => {
            err(
                "errors.deadletterqueue.topic.replication.factor",
                "invalid value \"0\" for errors.deadletterqueue.topic.replication.factor: \
                 expected a replication factor of at least 1, or -1 for the brokers' default"
                    .to_string(),
            );
            DLQ_REPLICATION_FACTOR_DEFAULT
        }
        Some(n) => i16::try_from(n).unwrap_or(i16::MAX),
        None => DLQ_REPLICATION_FACTOR_DEFAULT,
    };
    let dead_letter_queue = map
        .get("errors.deadletterqueue.topic.name")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .and_then(|topic| {
            let valid = topic.len() <= 249
                && topic != "."
                && topic != ".."
                && topic
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
            if !valid {
                err(
                    "errors.deadletterqueue.topic.name",
                    format!(
                        "invalid value \"{topic}\" for errors.deadletterqueue.topic.name: a kafka \
                         topic name has at most 249 of the characters a-z A-Z 0-9 . _ -"
                    ),
                );
                return None;
            }
            Some(DeadLetterQueueConfig {
                topic: topic.to_string(),
                replication_factor,
                context_headers,
            })
        });
    ErrorHandling {
        tolerance,
        log_enable,
        log_include_messages,
        retry_timeout_ms,
        retry_delay_max_ms,
        dead_letter_queue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_retry_and_dead_letter_queue_keys() {
        let c = TransformsConfig::from_map(&props(&[
            ("errors.tolerance", "all"),
            ("errors.retry.timeout", "-1"),
            ("errors.retry.delay.max.ms", "5000"),
            ("errors.deadletterqueue.topic.name", " dlq-orders "),
            ("errors.deadletterqueue.topic.replication.factor", "1"),
            ("errors.deadletterqueue.context.headers.enable", "true"),
        ]))
        .expect("valid");
        assert_eq!(c.errors.retry_timeout_ms, -1);
        assert_eq!(c.errors.retry_delay_max_ms, 5000);
        assert_eq!(
            c.errors.dead_letter_queue,
            Some(DeadLetterQueueConfig {
                topic: "dlq-orders".into(),
                replication_factor: 1,
                context_headers: true,
            })
        );
        let defaults = TransformsConfig::from_map(&BTreeMap::new()).expect("valid");
        assert_eq!(defaults.errors, ErrorHandling::default());
        assert_eq!(defaults.errors.retry_timeout_ms, 0);
        assert_eq!(defaults.errors.retry_delay_max_ms, 60_000);

        let errors = TransformsConfig::validate(&props(&[
            ("errors.retry.timeout", "-2"),
            ("errors.retry.delay.max.ms", "0"),
            ("errors.deadletterqueue.topic.name", "bad topic"),
            ("errors.deadletterqueue.topic.replication.factor", "0"),
        ]));
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "errors.retry.timeout",
                "errors.retry.delay.max.ms",
                "errors.deadletterqueue.topic.replication.factor",
                "errors.deadletterqueue.topic.name"
            ],
            "{errors:#?}"
        );
        assert!(errors[3].message.contains("249"), "{}", errors[3].message);
    }

    #[test]
    fn resolves_classes_and_aliases() {
        let t = PluginType::Transformation;
        for name in [
            "org.apache.kafka.connect.transforms.ValueToKey",
            "ValueToKey",
        ] {
            assert_eq!(
                resolve(t, name).map(|p| p.class),
                Ok("org.apache.kafka.connect.transforms.ValueToKey")
            );
        }
        for name in [
            "org.apache.kafka.connect.transforms.ExtractField$Key",
            "org.apache.kafka.connect.transforms.ExtractField.Key",
            "ExtractField$Key",
        ] {
            assert_eq!(
                resolve(t, name).map(|p| p.class),
                Ok("org.apache.kafka.connect.transforms.ExtractField$Key")
            );
        }
        assert_eq!(
            resolve(t, "ExtractNewRecordState").map(|p| p.class),
            Ok("io.debezium.transforms.ExtractNewRecordState")
        );
        assert_eq!(
            resolve(PluginType::Predicate, "TopicNameMatchesPredicate").map(|p| p.class),
            Ok("org.apache.kafka.connect.transforms.predicates.TopicNameMatches")
        );
        // Kafka's and Debezium's Filter share the simple name.
        assert!(
            matches!(resolve(t, "Filter"), Err(ResolveError::Ambiguous { classes }) if classes.len() == 2)
        );
        assert!(matches!(
            resolve(t, "RecordIsTombstone"),
            Err(ResolveError::WrongType { .. })
        ));
        match resolve(t, "org.apache.kafka.connect.transforms.ValueToKy") {
            Err(ResolveError::Unknown { near }) => {
                assert_eq!(
                    near.first(),
                    Some(&"org.apache.kafka.connect.transforms.ValueToKey")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_chain_with_predicates_and_errors() {
        let map = props(&[
            ("transforms", "unwrap, route"),
            (
                "transforms.unwrap.type",
                "io.debezium.transforms.ExtractNewRecordState",
            ),
            ("transforms.unwrap.add.fields", "op,table"),
            ("transforms.unwrap.predicate", "notHeartbeat"),
            ("transforms.unwrap.negate", "true"),
            (
                "transforms.route.type",
                "org.apache.kafka.connect.transforms.RegexRouter",
            ),
            ("transforms.route.regex", "(.*)"),
            ("transforms.route.replacement", "x_$1"),
            ("predicates", "notHeartbeat"),
            (
                "predicates.notHeartbeat.type",
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            ),
            ("predicates.notHeartbeat.pattern", "__debezium-heartbeat.*"),
            ("errors.tolerance", "all"),
            ("errors.log.enable", "true"),
        ]);
        let c = TransformsConfig::from_map(&map).expect("valid");
        assert_eq!(c.transforms.len(), 2);
        assert_eq!(c.transforms[0].alias, "unwrap");
        assert_eq!(c.transforms[0].predicate.as_deref(), Some("notHeartbeat"));
        assert!(c.transforms[0].negate);
        assert_eq!(
            c.transforms[0].props.get("add.fields").map(String::as_str),
            Some("op,table")
        );
        assert!(!c.transforms[0].props.contains_key("type"));
        assert_eq!(c.transforms[1].plugin.simple_name(), "RegexRouter");
        assert_eq!(
            c.predicates[0].props.get("pattern").map(String::as_str),
            Some("__debezium-heartbeat.*")
        );
        assert_eq!(c.errors.tolerance, ErrorTolerance::All);
        assert!(c.errors.log_enable && !c.errors.log_include_messages);
    }

    #[test]
    fn reports_every_bad_key() {
        let map = props(&[
            ("transforms", "a,b,c,d,a"),
            (
                "transforms.a.type",
                "org.apache.kafka.connect.transforms.ExtractFeld$Key",
            ),
            ("transforms.b.type", "ExtractField$Value"),
            (
                "transforms.c.type",
                "org.apache.kafka.connect.transforms.TimestampConverter$Value",
            ),
            ("transforms.c.target.type", "timestamp"),
            ("transforms.c.predicate", "nope"),
            ("errors.tolerance", "some"),
        ]);
        let errors = TransformsConfig::validate(&map);
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "transforms",
                "transforms.a.type",
                "transforms.b.field",
                "transforms.c.predicate",
                "transforms.c.target.type",
                "transforms.d.type",
                "errors.tolerance"
            ],
            "{errors:#?}"
        );
        let unknown = &errors[1].message;
        assert!(
            unknown.contains("did you mean org.apache.kafka.connect.transforms.ExtractField$Key"),
            "{unknown}"
        );
        assert!(errors[4]
            .message
            .contains("expected one of string, unix, Date, Time, Timestamp"));
        assert!(errors[5]
            .message
            .starts_with("missing required key transforms.d.type"));
    }

    #[test]
    fn catalog_serialises_like_connect() {
        assert!(plugins()
            .iter()
            .any(|p| p.class == "io.debezium.transforms.outbox.EventRouter"));
        let json = serde_json::to_value(plugins()).expect("json");
        assert_eq!(json[0]["type"], "transformation");
        let regex = resolve(PluginType::Transformation, "RegexRouter").expect("regex router");
        let keys = serde_json::to_value(regex.config_keys()).expect("json");
        assert_eq!(keys[0]["name"], "regex");
        assert_eq!(keys[0]["type"], "STRING");
        assert_eq!(keys[0]["required"], true);
        assert_eq!(keys[0]["importance"], "HIGH");
        assert!(keys[0]["default_value"].is_null());
        // Every class resolves to itself.
        for p in PLUGINS {
            assert_eq!(
                resolve(p.plugin_type, p.class).map(|r| r.class),
                Ok(p.class)
            );
        }
    }
}
