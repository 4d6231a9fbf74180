//! Avro schemas as the Schema Registry double sees them: parsed (and validated) from their JSON
//! text, and compared under Avro's schema-resolution rules for the compatibility levels.
//!
//! ```text
//! schema text --serde_json--> JSON --parse()--> Parsed { root, named types }
//! can_read(reader, writer) --> Ok | Incompatibility { kind, path, description }
//! ```
//! The rules are those of the Avro specification's "Schema Resolution" section, as Avro Java's
//! `SchemaCompatibility` applies them (which is what Confluent's registry runs): a reader field
//! missing from the writer needs a default; promotions int→long→float→double and
//! string↔bytes; a writer union needs every branch readable, a reader union needs one branch
//! that reads the writer; named types match on their unqualified name or a reader alias; enum
//! symbols of the writer must exist in the reader unless the reader has a default. Logical types
//! are ignored, as Avro Java ignores them here.

use std::collections::{HashMap, HashSet};

use serde_json::Value as Json;

/// A parsed schema: its root and the named types it defines (by full name).
#[derive(Debug)]
pub(crate) struct Parsed {
    root: Node,
    named: HashMap<String, Named>,
}

#[derive(Debug, Clone)]
enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    String,
    Array(Box<Node>),
    Map(Box<Node>),
    Union(Vec<Node>),
    /// A record, enum or fixed, by full name (definition in [`Parsed::named`]).
    Named(String),
}

#[derive(Debug)]
enum Named {
    /// Being parsed: its name may already be referenced (recursive types).
    Pending,
    Record {
        name: String,
        aliases: Vec<String>,
        fields: Vec<FieldDef>,
    },
    Enum {
        name: String,
        aliases: Vec<String>,
        symbols: Vec<String>,
        default: Option<String>,
    },
    Fixed {
        name: String,
        aliases: Vec<String>,
        size: u64,
    },
}

#[derive(Debug)]
struct FieldDef {
    name: String,
    aliases: Vec<String>,
    ty: Node,
    has_default: bool,
}

impl Named {
    /// The unqualified name (what resolution compares) and the full names of the aliases.
    fn names(&self) -> (&str, &[String]) {
        let (full, aliases) = match self {
            Named::Record { name, aliases, .. }
            | Named::Enum { name, aliases, .. }
            | Named::Fixed { name, aliases, .. } => (name.as_str(), aliases.as_slice()),
            Named::Pending => ("", &[][..]),
        };
        (full.rsplit('.').next().unwrap_or(full), aliases)
    }

    fn full_name(&self) -> &str {
        match self {
            Named::Record { name, .. } | Named::Enum { name, .. } | Named::Fixed { name, .. } => {
                name
            }
            Named::Pending => "",
        }
    }
}

/// Parse and validate a schema (names, references, defaults), as the registry does before it
/// accepts one. The error says what is wrong, like Avro Java's `SchemaParseException`.
pub(crate) fn parse(text: &str) -> Result<Parsed, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut named = HashMap::new();
    let root = parse_node(&json, None, &mut named)?;
    Ok(Parsed { root, named })
}

fn primitive(name: &str) -> Option<Node> {
    Some(match name {
        "null" => Node::Null,
        "boolean" => Node::Boolean,
        "int" => Node::Int,
        "long" => Node::Long,
        "float" => Node::Float,
        "double" => Node::Double,
        "bytes" => Node::Bytes,
        "string" => Node::String,
        _ => return None,
    })
}

/// Avro Java's name check: a letter or `_`, then letters, digits or `_`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn full_name(name: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !name.contains('.') && !ns.is_empty() => format!("{ns}.{name}"),
        _ => name.to_string(),
    }
}

fn parse_node(
    json: &Json,
    namespace: Option<&str>,
    named: &mut HashMap<String, Named>,
) -> Result<Node, String> {
    match json {
        Json::String(name) => {
            if let Some(p) = primitive(name) {
                return Ok(p);
            }
            let full = full_name(name, namespace);
            if named.contains_key(&full) {
                Ok(Node::Named(full))
            } else if named.contains_key(name.as_str()) {
                Ok(Node::Named(name.clone()))
            } else {
                Err(format!("Undefined name: \"{name}\""))
            }
        }
        Json::Array(branches) => {
            let mut nodes = Vec::with_capacity(branches.len());
            let mut seen = HashSet::new();
            for b in branches {
                let node = parse_node(b, namespace, named)?;
                let key = match &node {
                    Node::Union(_) => {
                        return Err("Nested union: unions may not contain unions".into())
                    }
                    Node::Named(n) => n.clone(),
                    other => format!("{other:?}"),
                };
                if !seen.insert(key.clone()) {
                    return Err(format!("Duplicate in union: {key}"));
                }
                nodes.push(node);
            }
            Ok(Node::Union(nodes))
        }
        Json::Object(obj) => {
            let ty = obj
                .get("type")
                .ok_or("No type: a schema object needs \"type\"")?;
            let ty = match ty {
                Json::String(t) => t.as_str(),
                // `{"type": {...}}` / `{"type": [...]}`: the nested schema is the schema.
                other => return parse_node(other, namespace, named),
            };
            if let Some(p) = primitive(ty) {
                return Ok(p);
            }
            match ty {
                "array" => {
                    let items = obj.get("items").ok_or("Array has no items type")?;
                    Ok(Node::Array(Box::new(parse_node(items, namespace, named)?)))
                }
                "map" => {
                    let values = obj.get("values").ok_or("Map has no values type")?;
                    Ok(Node::Map(Box::new(parse_node(values, namespace, named)?)))
                }
                "record" | "error" | "enum" | "fixed" => parse_named(ty, obj, namespace, named),
                other => {
                    // A reference written as an object (`{"type": "Name"}`).
                    parse_node(&Json::String(other.to_string()), namespace, named)
                }
            }
        }
        other => Err(format!("Schema is not a string, array or object: {other}")),
    }
}

fn parse_named(
    ty: &str,
    obj: &serde_json::Map<String, Json>,
    enclosing: Option<&str>,
    named: &mut HashMap<String, Named>,
) -> Result<Node, String> {
    let name = obj
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| format!("No name in schema: a {ty} needs a \"name\""))?;
    let (namespace, short) = match name.rsplit_once('.') {
        Some((ns, short)) => (Some(ns.to_string()), short),
        None => (
            match obj.get("namespace") {
                Some(Json::String(ns)) => Some(ns.clone()),
                Some(Json::Null) | None => enclosing.map(str::to_string),
                Some(other) => return Err(format!("namespace is not a string: {other}")),
            },
            name,
        ),
    };
    if !valid_name(short) {
        return Err(format!("Illegal character in: {short}"));
    }
    let namespace = namespace.filter(|ns| !ns.is_empty());
    let full = full_name(short, namespace.as_deref());
    if named.contains_key(&full) {
        return Err(format!("Can't redefine: {full}"));
    }
    let aliases = obj
        .get("aliases")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Json::as_str)
                .map(|alias| full_name(alias, namespace.as_deref()))
                .collect()
        })
        .unwrap_or_default();
    named.insert(full.clone(), Named::Pending);
    let def = match ty {
        "enum" => {
            let symbols: Vec<String> = obj
                .get("symbols")
                .and_then(Json::as_array)
                .ok_or("Enum has no symbols")?
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_string)
                        .ok_or("Enum symbols must be strings")
                })
                .collect::<Result<_, _>>()?;
            let mut seen = HashSet::new();
            for s in &symbols {
                if !valid_name(s) {
                    return Err(format!("Illegal character in: {s}"));
                }
                if !seen.insert(s) {
                    return Err(format!("Duplicate enum symbol: {s}"));
                }
            }
            let default = obj
                .get("default")
                .and_then(Json::as_str)
                .map(str::to_string);
            if let Some(d) = &default {
                if !symbols.contains(d) {
                    return Err(format!(
                        "The Enum Default: {d} is not in the enum symbol set"
                    ));
                }
            }
            Named::Enum {
                name: full.clone(),
                aliases,
                symbols,
                default,
            }
        }
        "fixed" => {
            let size = obj
                .get("size")
                .and_then(Json::as_u64)
                .ok_or("Invalid or no size: a fixed needs a non-negative \"size\"")?;
            Named::Fixed {
                name: full.clone(),
                aliases,
                size,
            }
        }
        _ => {
            let raw = obj
                .get("fields")
                .and_then(Json::as_array)
                .ok_or("Record has no fields")?;
            let mut fields = Vec::with_capacity(raw.len());
            let mut seen = HashSet::new();
            for f in raw {
                let fname = f
                    .get("name")
                    .and_then(Json::as_str)
                    .ok_or("No field name")?;
                if !valid_name(fname) {
                    return Err(format!("Illegal character in: {fname}"));
                }
                if !seen.insert(fname) {
                    return Err(format!("Duplicate field {fname} in record {full}"));
                }
                let fty = f
                    .get("type")
                    .ok_or_else(|| format!("No field type: {fname}"))?;
                let node = parse_node(fty, namespace.as_deref(), named)?;
                let default = f.get("default");
                if let Some(d) = default {
                    if !valid_default(&node, d, named) {
                        return Err(format!(
                            "Invalid default for field {fname}: {d} not a {fty}"
                        ));
                    }
                }
                let faliases = f
                    .get("aliases")
                    .and_then(Json::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Json::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                fields.push(FieldDef {
                    name: fname.to_string(),
                    aliases: faliases,
                    ty: node,
                    has_default: default.is_some(),
                });
            }
            Named::Record {
                name: full.clone(),
                aliases,
                fields,
            }
        }
    };
    named.insert(full.clone(), def);
    Ok(Node::Named(full))
}

/// Whether `value` is a valid default for `node` (Avro Java's `isValidDefault`: a union's
/// default belongs to its first branch).
fn valid_default(node: &Node, value: &Json, named: &HashMap<String, Named>) -> bool {
    match node {
        Node::Null => value.is_null(),
        Node::Boolean => value.is_boolean(),
        Node::Int => value.as_i64().is_some_and(|v| i32::try_from(v).is_ok()),
        Node::Long => value.as_i64().is_some(),
        Node::Float | Node::Double => value.is_number(),
        Node::Bytes | Node::String => value.is_string(),
        Node::Array(items) => value
            .as_array()
            .is_some_and(|a| a.iter().all(|v| valid_default(items, v, named))),
        Node::Map(values) => value
            .as_object()
            .is_some_and(|o| o.values().all(|v| valid_default(values, v, named))),
        Node::Union(branches) => branches
            .first()
            .is_some_and(|first| valid_default(first, value, named)),
        Node::Named(name) => match named.get(name) {
            // A default that refers to the record being defined: accept, as Avro Java does
            // (it validates once the type is complete, and Confluent's converters never do this).
            Some(Named::Pending) | None => true,
            Some(Named::Enum { symbols, .. }) => value
                .as_str()
                .is_some_and(|s| symbols.iter().any(|x| x == s)),
            Some(Named::Fixed { .. }) => value.is_string(),
            Some(Named::Record { fields, .. }) => value.as_object().is_some_and(|o| {
                fields.iter().all(|f| match o.get(&f.name) {
                    Some(v) => valid_default(&f.ty, v, named),
                    None => f.has_default,
                })
            }),
        },
    }
}

/// Why a reader cannot read what a writer wrote (Avro Java's `SchemaIncompatibilityType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Incompatibility {
    pub kind: &'static str,
    /// JSON-pointer-like location in the reader schema.
    pub path: String,
    pub description: String,
    pub additional_info: String,
}

/// Whether data written with `writer` can be read with `reader`.
pub(crate) fn can_read(reader: &Parsed, writer: &Parsed) -> Result<(), Incompatibility> {
    let mut checker = Checker {
        reader,
        writer,
        in_progress: HashSet::new(),
    };
    checker.check(&reader.root, &writer.root, "")
}

struct Checker<'a> {
    reader: &'a Parsed,
    writer: &'a Parsed,
    /// Named pairs being compared: a recursive type compares as compatible with itself.
    in_progress: HashSet<(String, String)>,
}

fn kind_name(node: &Node, named: &HashMap<String, Named>) -> String {
    match node {
        Node::Null => "null".into(),
        Node::Boolean => "boolean".into(),
        Node::Int => "int".into(),
        Node::Long => "long".into(),
        Node::Float => "float".into(),
        Node::Double => "double".into(),
        Node::Bytes => "bytes".into(),
        Node::String => "string".into(),
        Node::Array(_) => "array".into(),
        Node::Map(_) => "map".into(),
        Node::Union(_) => "union".into(),
        Node::Named(n) => match named.get(n) {
            Some(Named::Record { .. }) => "record".into(),
            Some(Named::Enum { .. }) => "enum".into(),
            Some(Named::Fixed { .. }) => "fixed".into(),
            _ => n.clone(),
        },
    }
}

impl Checker<'_> {
    fn check(&mut self, r: &Node, w: &Node, path: &str) -> Result<(), Incompatibility> {
        // A writer union: whichever branch was written must be readable.
        if let Node::Union(wb) = w {
            for (i, b) in wb.iter().enumerate() {
                if self.check(r, b, path).is_err() {
                    return Err(Incompatibility {
                        kind: "MISSING_UNION_BRANCH",
                        path: path_or_root(path),
                        description: format!(
                            "The new schema is missing a type inside a union field at path '{}' in the old schema",
                            path_or_root(&format!("{path}/{i}"))
                        ),
                        additional_info: format!(
                            "reader union lacking writer type: {}",
                            kind_name(b, &self.writer.named).to_uppercase()
                        ),
                    });
                }
            }
            return Ok(());
        }
        if let Node::Union(rb) = r {
            for b in rb {
                if self.check(b, w, path).is_ok() {
                    return Ok(());
                }
            }
            return Err(Incompatibility {
                kind: "MISSING_UNION_BRANCH",
                path: path_or_root(path),
                description: format!(
                    "The new schema is missing a type inside a union field at path '{}' in the old schema",
                    path_or_root(path)
                ),
                additional_info: format!(
                    "reader union lacking writer type: {}",
                    kind_name(w, &self.writer.named).to_uppercase()
                ),
            });
        }
        match (r, w) {
            (Node::Null, Node::Null)
            | (Node::Boolean, Node::Boolean)
            | (Node::Int, Node::Int)
            | (Node::Long, Node::Long | Node::Int)
            | (Node::Float, Node::Float | Node::Long | Node::Int)
            | (Node::Double, Node::Double | Node::Float | Node::Long | Node::Int)
            | (Node::Bytes, Node::Bytes | Node::String)
            | (Node::String, Node::String | Node::Bytes) => Ok(()),
            (Node::Array(ri), Node::Array(wi)) => self.check(ri, wi, &format!("{path}/items")),
            (Node::Map(rv), Node::Map(wv)) => self.check(rv, wv, &format!("{path}/values")),
            (Node::Named(rn), Node::Named(wn)) => self.check_named(rn, wn, path),
            _ => Err(self.type_mismatch(r, w, path)),
        }
    }

    fn type_mismatch(&self, r: &Node, w: &Node, path: &str) -> Incompatibility {
        let rk = kind_name(r, &self.reader.named);
        let wk = kind_name(w, &self.writer.named);
        Incompatibility {
            kind: "TYPE_MISMATCH",
            path: path_or_root(path),
            description: format!(
                "The type (path '{}') of a field in the new schema does not match with the old schema",
                path_or_root(path)
            ),
            additional_info: format!(
                "reader type: {} not compatible with writer type: {}",
                rk.to_uppercase(),
                wk.to_uppercase()
            ),
        }
    }

    fn check_named(&mut self, rn: &str, wn: &str, path: &str) -> Result<(), Incompatibility> {
        let (Some(rdef), Some(wdef)) = (self.reader.named.get(rn), self.writer.named.get(wn))
        else {
            return Err(Incompatibility {
                kind: "TYPE_MISMATCH",
                path: path_or_root(path),
                description: format!("undefined named type {rn} or {wn}"),
                additional_info: String::new(),
            });
        };
        let (rshort, raliases) = rdef.names();
        let (wshort, _) = wdef.names();
        let same_kind = matches!(
            (rdef, wdef),
            (Named::Record { .. }, Named::Record { .. })
                | (Named::Enum { .. }, Named::Enum { .. })
                | (Named::Fixed { .. }, Named::Fixed { .. })
        );
        if !same_kind {
            return Err(self.type_mismatch(
                &Node::Named(rn.to_string()),
                &Node::Named(wn.to_string()),
                path,
            ));
        }
        if rshort != wshort && !raliases.iter().any(|a| a == wdef.full_name()) {
            return Err(Incompatibility {
                kind: "NAME_MISMATCH",
                path: path_or_root(&format!("{path}/name")),
                description: format!(
                    "The name of the schema has changed (path '{}')",
                    path_or_root(&format!("{path}/name"))
                ),
                additional_info: format!("expected: {}", wdef.full_name()),
            });
        }
        if !self.in_progress.insert((rn.to_string(), wn.to_string())) {
            return Ok(());
        }
        let result = match (rdef, wdef) {
            (Named::Record { fields: rf, .. }, Named::Record { fields: wf, .. }) => {
                let mut result = Ok(());
                for (i, f) in rf.iter().enumerate() {
                    let fpath = format!("{path}/fields/{i}");
                    let found = wf
                        .iter()
                        .find(|w| w.name == f.name)
                        .or_else(|| wf.iter().find(|w| f.aliases.contains(&w.name)));
                    match found {
                        Some(w) => {
                            if let Err(e) = self.check(&f.ty, &w.ty, &format!("{fpath}/type")) {
                                result = Err(e);
                                break;
                            }
                        }
                        None if f.has_default => {}
                        None => {
                            result = Err(Incompatibility {
                                kind: "READER_FIELD_MISSING_DEFAULT_VALUE",
                                path: fpath.clone(),
                                description: format!(
                                    "The field '{}' at path '{fpath}' in the new schema has no default value and is missing in the old schema",
                                    f.name
                                ),
                                additional_info: f.name.clone(),
                            });
                            break;
                        }
                    }
                }
                result
            }
            (
                Named::Enum {
                    symbols: rs,
                    default: rdefault,
                    ..
                },
                Named::Enum { symbols: ws, .. },
            ) => {
                let missing: Vec<&String> = ws.iter().filter(|s| !rs.contains(s)).collect();
                if missing.is_empty() || rdefault.is_some() {
                    Ok(())
                } else {
                    Err(Incompatibility {
                        kind: "MISSING_ENUM_SYMBOLS",
                        path: path_or_root(&format!("{path}/symbols")),
                        description: format!(
                            "The new schema is missing enum symbols '{missing:?}' at path '{}' in the old schema",
                            path_or_root(&format!("{path}/symbols"))
                        ),
                        additional_info: format!("{missing:?}"),
                    })
                }
            }
            (Named::Fixed { size: rs, .. }, Named::Fixed { size: ws, .. }) => {
                if rs == ws {
                    Ok(())
                } else {
                    Err(Incompatibility {
                        kind: "FIXED_SIZE_MISMATCH",
                        path: path_or_root(&format!("{path}/size")),
                        description: format!(
                            "The size of FIXED type field at path '{}' in the new schema does not match with the old schema",
                            path_or_root(&format!("{path}/size"))
                        ),
                        additional_info: format!("expected: {ws}, found: {rs}"),
                    })
                }
            }
            _ => Ok(()),
        };
        self.in_progress.remove(&(rn.to_string(), wn.to_string()));
        result
    }
}

fn path_or_root(path: &str) -> String {
    if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Parsed {
        match parse(text) {
            Ok(p) => p,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    fn compatible(reader: &str, writer: &str) -> Result<(), Incompatibility> {
        can_read(&p(reader), &p(writer))
    }

    const V1: &str = r#"{"type":"record","name":"Value","namespace":"a.b","fields":[{"name":"id","type":"int"},{"name":"name","type":["null","string"],"default":null}]}"#;

    #[test]
    fn added_field_without_default_cannot_read_old_data() {
        let v2 = r#"{"type":"record","name":"Value","namespace":"a.b","fields":[{"name":"id","type":"int"},{"name":"name","type":["null","string"],"default":null},{"name":"extra","type":"string"}]}"#;
        let err = compatible(v2, V1).err();
        assert_eq!(
            err.map(|e| (e.kind, e.path, e.additional_info)),
            Some((
                "READER_FIELD_MISSING_DEFAULT_VALUE",
                "/fields/2".to_string(),
                "extra".to_string()
            ))
        );
        // The old schema reads new data (the extra field is skipped): forward compatible.
        assert!(compatible(V1, v2).is_ok());
    }

    #[test]
    fn added_optional_field_is_compatible_both_ways() {
        let v2 = r#"{"type":"record","name":"Value","namespace":"a.b","fields":[{"name":"id","type":"int"},{"name":"name","type":["null","string"],"default":null},{"name":"extra","type":["null","string"],"default":null}]}"#;
        assert!(compatible(v2, V1).is_ok());
        assert!(compatible(V1, v2).is_ok());
    }

    #[test]
    fn removed_field_without_default_breaks_forward() {
        let v2 = r#"{"type":"record","name":"Value","namespace":"a.b","fields":[{"name":"name","type":["null","string"],"default":null}]}"#;
        assert!(compatible(v2, V1).is_ok(), "new reads old: id is skipped");
        let err = compatible(V1, v2).err().map(|e| e.kind);
        assert_eq!(err, Some("READER_FIELD_MISSING_DEFAULT_VALUE"));
    }

    #[test]
    fn promotions_follow_the_spec() {
        let rec = |t: &str| {
            format!(r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":{t}}}]}}"#)
        };
        let ok = [
            ("\"long\"", "\"int\""),
            ("\"float\"", "\"int\""),
            ("\"double\"", "\"int\""),
            ("\"float\"", "\"long\""),
            ("\"double\"", "\"long\""),
            ("\"double\"", "\"float\""),
            ("\"bytes\"", "\"string\""),
            ("\"string\"", "\"bytes\""),
            // Logical types are ignored, as in Avro Java.
            (
                r#"{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}"#,
                r#"{"type":"bytes","logicalType":"decimal","precision":12,"scale":3}"#,
            ),
        ];
        for (r, w) in ok {
            assert!(compatible(&rec(r), &rec(w)).is_ok(), "{w} -> {r}");
        }
        let bad = [
            ("\"int\"", "\"long\""),
            ("\"long\"", "\"float\""),
            ("\"float\"", "\"double\""),
            ("\"int\"", "\"string\""),
            ("\"boolean\"", "\"int\""),
        ];
        for (r, w) in bad {
            let err = compatible(&rec(r), &rec(w)).err();
            assert_eq!(
                err.map(|e| (e.kind, e.path)),
                Some(("TYPE_MISMATCH", "/fields/0/type".to_string())),
                "{w} -> {r}"
            );
        }
    }

    #[test]
    fn union_changes() {
        let rec = |t: &str| {
            format!(r#"{{"type":"record","name":"R","fields":[{{"name":"f","type":{t}}}]}}"#)
        };
        // Widening a field to a union that contains the old type reads old data.
        assert!(compatible(&rec(r#"["null","int"]"#), &rec("\"int\"")).is_ok());
        // Narrowing a union to one of its branches cannot read the other branch.
        let err = compatible(&rec("\"int\""), &rec(r#"["null","int"]"#)).err();
        assert_eq!(err.map(|e| e.kind), Some("MISSING_UNION_BRANCH"));
        // A removed branch fails; a promoted branch is fine.
        assert!(compatible(
            &rec(r#"["null","string"]"#),
            &rec(r#"["null","string","int"]"#)
        )
        .is_err());
        assert!(compatible(&rec(r#"["null","long"]"#), &rec(r#"["null","int"]"#)).is_ok());
    }

    #[test]
    fn names_enums_fixed_and_recursion() {
        let a = r#"{"type":"record","name":"x.A","fields":[]}"#;
        let b = r#"{"type":"record","name":"x.B","fields":[]}"#;
        assert_eq!(
            compatible(b, a).err().map(|e| e.kind),
            Some("NAME_MISMATCH")
        );
        // Unqualified names match across namespaces; an alias matches the writer's full name.
        assert!(compatible(r#"{"type":"record","name":"y.A","fields":[]}"#, a).is_ok());
        assert!(compatible(
            r#"{"type":"record","name":"x.B","aliases":["A"],"fields":[]}"#,
            a
        )
        .is_ok());
        let e1 = r#"{"type":"enum","name":"E","symbols":["A","B"]}"#;
        let e2 = r#"{"type":"enum","name":"E","symbols":["A"]}"#;
        let e3 = r#"{"type":"enum","name":"E","symbols":["A"],"default":"A"}"#;
        assert!(compatible(e1, e2).is_ok());
        assert_eq!(
            compatible(e2, e1).err().map(|e| e.kind),
            Some("MISSING_ENUM_SYMBOLS")
        );
        assert!(compatible(e3, e1).is_ok());
        let f4 = r#"{"type":"fixed","name":"F","size":4}"#;
        let f8 = r#"{"type":"fixed","name":"F","size":8}"#;
        assert_eq!(
            compatible(f4, f8).err().map(|e| e.kind),
            Some("FIXED_SIZE_MISMATCH")
        );
        let list = r#"{"type":"record","name":"L","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","L"],"default":null}]}"#;
        assert!(compatible(list, list).is_ok());
    }

    #[test]
    fn references_resolve_in_the_enclosing_namespace() {
        let env = r#"{"type":"record","name":"Envelope","namespace":"s.public.t","fields":[
            {"name":"before","type":["null",{"type":"record","name":"Value","fields":[{"name":"id","type":"int"}]}],"default":null},
            {"name":"after","type":["null","Value"],"default":null},
            {"name":"source","type":{"type":"record","name":"Source","namespace":"io.debezium.connector.postgresql","fields":[{"name":"v","type":"string"}]}},
            {"name":"again","type":["null","io.debezium.connector.postgresql.Source"],"default":null}]}"#;
        let parsed = p(env);
        assert!(parsed.named.contains_key("s.public.t.Value"));
        assert!(parsed
            .named
            .contains_key("io.debezium.connector.postgresql.Source"));
        assert!(can_read(&parsed, &parsed).is_ok());
    }

    #[test]
    fn invalid_schemas_are_rejected() {
        let cases = [
            ("{", "invalid JSON"),
            (
                r#"{"type":"record","name":"R","fields":[{"name":"a-b","type":"int"}]}"#,
                "Illegal character in: a-b",
            ),
            (
                r#"{"type":"record","name":"R","fields":[{"name":"a","type":"Nope"}]}"#,
                "Undefined name",
            ),
            (
                r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":"x"}]}"#,
                "Invalid default for field a",
            ),
            (
                r#"{"type":"record","name":"R","fields":[{"name":"a","type":["null","int"],"default":1}]}"#,
                "Invalid default for field a",
            ),
            (r#"["int","int"]"#, "Duplicate in union"),
            (
                r#"{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"a","type":"int"}]}"#,
                "Duplicate field a",
            ),
            (
                r#"{"type":"record","name":"R","fields":[{"name":"a","type":{"type":"record","name":"R","fields":[]}}]}"#,
                "Can't redefine: R",
            ),
        ];
        for (text, expected) in cases {
            match parse(text) {
                Ok(_) => panic!("accepted {text}"),
                Err(e) => assert!(e.contains(expected), "{text}: {e}"),
            }
        }
        // Defaults of the first union branch, and of nested records, are accepted.
        assert!(parse(r#"{"type":"record","name":"R","fields":[{"name":"a","type":[{"type":"string","connect.default":"x"},"null"],"default":"x"}]}"#).is_ok());
    }
}
