//! Debezium's scripting transforms, `io.debezium.transforms.Filter` (`condition`) and
//! `io.debezium.transforms.ContentBasedRouter` (`topic.expression`), with expressions in CEL,
//! the Common Expression Language (the `cel` crate), in place of JSR-223 Groovy / JavaScript.
//!
//! CEL was chosen over Rhai and evalexpr because Debezium's documented expressions are already
//! valid CEL with the same meaning: `value.op == 'u' && value.before.id == 2`,
//! `value.op in ['c','u','d'] ? topic : null`, `topic + '.created'`,
//! `value.after.name.startsWith('A')`, and the JavaScript form `value.get('op') == 'u'`
//! (Rhai has no single-quoted strings, evalexpr no field access). CEL is side-effect free and
//! always terminates, which suits an expression run per record inside the pipeline.
//!
//! Bindings, as Debezium makes them: `value`, `key` (structs become maps from field name to
//! value), `valueSchema`, `keySchema` (maps: `name`, `type` (`struct`, `int32`, ...),
//! `optional`, `version`, `doc`, `parameters`, `fields`: a list of `{name, schema}`), `topic`,
//! and `header` (a map from header name to `{value, schema}`, the value a string since Sluice
//! headers are text). Integers are CEL `int`, floating point `double`, bytes `bytes`, Connect
//! logical types their underlying number or bytes.
//!
//! Differences from Groovy: no `?.` or `?:` (use `has(value.after.x)` and the ternary
//! operator), no Java method calls on structs or schemas (`valueSchema.name`, not
//! `valueSchema.name()`), `size(x)` / `x.size()` instead of `x.length()`, and selecting a field
//! of a null struct is an error rather than a `NullPointerException` — both fail the record.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, ExecutionError, Program, Value as Cel};
use regex::Regex;

use crate::connect::{Record, Schema, Value};

use super::cache::SchemaCache;
use super::{Props, SmtError, Transform};

/// `null.handling.mode`: what happens to records whose value is null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NullHandling {
    Keep,
    Drop,
    Evaluate,
}

/// A compiled expression with the variables it needs, evaluated per record.
pub(crate) struct Expression {
    program: Program,
    root: Context<'static, 'static>,
    uses: Uses,
    /// Field names as CEL map keys, per struct schema.
    keys: SchemaCache<Arc<Vec<Key>>>,
    /// Schemas as CEL values.
    schemas: SchemaCache<Cel>,
}

#[derive(Debug, Clone, Copy)]
struct Uses {
    value: bool,
    key: bool,
    value_schema: bool,
    key_schema: bool,
    topic: bool,
    header: bool,
}

impl Expression {
    /// Compiles `source`; the error says where it fails to parse.
    pub(crate) fn compile(source: &str) -> Result<Expression, String> {
        let program = Program::compile(source).map_err(|e| e.to_string())?;
        let refs = program.references();
        let uses = Uses {
            value: refs.has_variable("value"),
            key: refs.has_variable("key"),
            value_schema: refs.has_variable("valueSchema"),
            key_schema: refs.has_variable("keySchema"),
            topic: refs.has_variable("topic"),
            header: refs.has_variable("header"),
        };
        let mut root = Context::default();
        // JavaScript's Struct#get('field'), as Debezium's documentation shows for JS.
        root.add_function("get", struct_get)
            .map_err(|e| format!("cannot declare get(): {e}"))?;
        Ok(Expression {
            program,
            root,
            uses,
            keys: SchemaCache::default(),
            schemas: SchemaCache::default(),
        })
    }

    /// Evaluates the expression over `record`.
    pub(crate) fn eval(&mut self, record: &Record) -> Result<Cel, SmtError> {
        let mut scope = self.root.new_inner_scope();
        let Expression {
            keys,
            schemas,
            uses,
            ..
        } = self;
        if uses.value {
            let v = to_cel(record.value.as_ref(), record.value_schema.as_ref(), keys);
            scope.add_variable_from_value("value", v);
        }
        if uses.key {
            let v = to_cel(record.key.as_ref(), record.key_schema.as_ref(), keys);
            scope.add_variable_from_value("key", v);
        }
        if uses.value_schema {
            scope.add_variable_from_value(
                "valueSchema",
                schema_value(record.value_schema.as_ref(), schemas),
            );
        }
        if uses.key_schema {
            scope.add_variable_from_value(
                "keySchema",
                schema_value(record.key_schema.as_ref(), schemas),
            );
        }
        if uses.topic {
            scope.add_variable_from_value("topic", Cel::String(Arc::new(record.topic.to_string())));
        }
        if uses.header {
            let mut headers = HashMap::new();
            for (name, value) in &record.headers {
                let mut h = HashMap::new();
                h.insert(
                    Key::from("value"),
                    value
                        .as_ref()
                        .map_or(Cel::Null, |v| Cel::String(Arc::new(v.clone()))),
                );
                h.insert(Key::from("schema"), Cel::Null);
                headers.insert(Key::from(name.as_str()), Cel::Map(Map { map: Arc::new(h) }));
            }
            scope.add_variable_from_value(
                "header",
                Cel::Map(Map {
                    map: Arc::new(headers),
                }),
            );
        }
        self.program
            .execute(&scope)
            .map_err(|e| SmtError::new(describe(&e)))
    }
}

/// `map.get('name')`: the entry, or null when absent.
fn struct_get(
    cel::extractors::This(this): cel::extractors::This<Cel>,
    key: Arc<String>,
) -> Result<Cel, ExecutionError> {
    match this {
        Cel::Map(m) => Ok(m.get(&Key::String(key)).cloned().unwrap_or(Cel::Null)),
        other => Err(ExecutionError::function_error(
            "get",
            format!("get() applies to structs and maps, not {}", other.type_of()),
        )),
    }
}

/// A CEL error without the values it may carry (row values never reach messages).
fn describe(e: &ExecutionError) -> String {
    #[allow(deprecated)]
    let text = match e {
        ExecutionError::NoSuchKey(k) => format!("no such field or key: {k}"),
        ExecutionError::UndeclaredReference(r) => format!("undeclared reference to {r}"),
        ExecutionError::ValuesNotComparable(a, b) => {
            format!("a {} cannot be compared to a {}", a.type_of(), b.type_of())
        }
        ExecutionError::UnsupportedBinaryOperator(op, a, b) => {
            format!(
                "operator {op} does not apply to {} and {}",
                a.type_of(),
                b.type_of()
            )
        }
        ExecutionError::UnexpectedType { got, want } => format!("expected {want}, got {got}"),
        ExecutionError::NoSuchOverload(o) => format!(
            "no overload of {} for ({})",
            o.function(),
            o.argument_types().join(", ")
        ),
        ExecutionError::UnsupportedTargetType { target } => {
            format!("unsupported target of type {}", target.type_of())
        }
        ExecutionError::NotSupportedAsMethod { method, target } => {
            format!("{method}() is not a method of {}", target.type_of())
        }
        ExecutionError::FunctionError { function, .. } => format!("function {function} failed"),
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("expected {expected} arguments, got {actual}")
        }
        ExecutionError::DivisionByZero(_) => "division by zero".into(),
        ExecutionError::RemainderByZero(_) => "remainder by zero".into(),
        ExecutionError::Overflow(op, _, _) => format!("overflow in {op}"),
        ExecutionError::IndexOutOfBounds(_) => "index out of bounds".into(),
        ExecutionError::MissingArgumentOrTarget => "missing argument or target".into(),
        _ => "the expression could not be evaluated on this record".into(),
    };
    format!("expression failed: {text}")
}

/// A Connect value as CEL: structs become maps keyed by field name.
fn to_cel(
    value: Option<&Value>,
    schema: Option<&Arc<Schema>>,
    keys: &mut SchemaCache<Arc<Vec<Key>>>,
) -> Cel {
    match value {
        None => Cel::Null,
        Some(v) => convert(v, schema, keys),
    }
}

fn convert(
    value: &Value,
    schema: Option<&Arc<Schema>>,
    keys: &mut SchemaCache<Arc<Vec<Key>>>,
) -> Cel {
    match value {
        Value::Null => Cel::Null,
        Value::Boolean(b) => Cel::Bool(*b),
        Value::Int8(v) => Cel::Int((*v).into()),
        Value::Int16(v) => Cel::Int((*v).into()),
        Value::Int32(v) => Cel::Int((*v).into()),
        Value::Int64(v) => Cel::Int(*v),
        Value::Float32(v) => Cel::Float((*v).into()),
        Value::Float64(v) => Cel::Float(*v),
        Value::String(s) => Cel::String(Arc::new(s.clone())),
        Value::Bytes(b) => Cel::Bytes(Arc::new(b.clone())),
        Value::Array(items) => {
            let item_schema = schema.and_then(|s| s.items.as_ref());
            Cel::List(Arc::new(
                items
                    .iter()
                    .map(|i| convert(i, item_schema, keys))
                    .collect(),
            ))
        }
        Value::Map(entries) => {
            let value_schema = schema.and_then(|s| s.items.as_ref());
            let mut map = HashMap::with_capacity(entries.len());
            for (k, v) in entries {
                let key = match k {
                    Value::String(s) => Key::from(s.as_str()),
                    Value::Boolean(b) => Key::from(*b),
                    Value::Int8(i) => Key::from(i64::from(*i)),
                    Value::Int16(i) => Key::from(i64::from(*i)),
                    Value::Int32(i) => Key::from(i64::from(*i)),
                    Value::Int64(i) => Key::from(*i),
                    other => Key::from(super::data::header_string(None, other).unwrap_or_default()),
                };
                map.insert(key, convert(v, value_schema, keys));
            }
            Cel::Map(Map { map: Arc::new(map) })
        }
        Value::Struct(values) => {
            let Some(schema) = schema else {
                return Cel::Null;
            };
            let names = match keys.get_or_try(schema, (), |s| {
                Ok::<_, ()>(Arc::new(
                    s.fields
                        .iter()
                        .map(|f| Key::from(f.name.as_str()))
                        .collect(),
                ))
            }) {
                Ok(n) => n.clone(),
                Err(()) => return Cel::Null,
            };
            let mut map = HashMap::with_capacity(values.len());
            for ((name, v), f) in names.iter().zip(values).zip(&schema.fields) {
                map.insert(name.clone(), convert(v, Some(&f.schema), keys));
            }
            Cel::Map(Map { map: Arc::new(map) })
        }
    }
}

/// A schema as a CEL map (cached per schema).
fn schema_value(schema: Option<&Arc<Schema>>, cache: &mut SchemaCache<Cel>) -> Cel {
    let Some(schema) = schema else {
        return Cel::Null;
    };
    cache
        .get_or_try(schema, (), |s| Ok::<_, ()>(schema_map(s)))
        .map_or(Cel::Null, Cel::clone)
}

fn schema_map(s: &Schema) -> Cel {
    let text = |t: &Option<String>| {
        t.as_ref()
            .map_or(Cel::Null, |v| Cel::String(Arc::new(v.clone())))
    };
    let mut m = HashMap::new();
    m.insert(Key::from("name"), text(&s.name));
    m.insert(
        Key::from("type"),
        Cel::String(Arc::new(s.ty.json_name().to_string())),
    );
    m.insert(Key::from("optional"), Cel::Bool(s.optional));
    m.insert(
        Key::from("version"),
        s.version.map_or(Cel::Null, |v| Cel::Int(v.into())),
    );
    m.insert(Key::from("doc"), text(&s.doc));
    let params: HashMap<Key, Cel> = s
        .parameters
        .iter()
        .map(|(k, v)| (Key::from(k.as_str()), Cel::String(Arc::new(v.clone()))))
        .collect();
    m.insert(
        Key::from("parameters"),
        Cel::Map(Map {
            map: Arc::new(params),
        }),
    );
    let fields: Vec<Cel> = s
        .fields
        .iter()
        .map(|f| {
            let mut fm = HashMap::new();
            fm.insert(Key::from("name"), Cel::String(Arc::new(f.name.clone())));
            fm.insert(Key::from("schema"), schema_map(&f.schema));
            Cel::Map(Map { map: Arc::new(fm) })
        })
        .collect();
    m.insert(Key::from("fields"), Cel::List(Arc::new(fields)));
    Cel::Map(Map { map: Arc::new(m) })
}

/// The settings both scripting transforms share.
struct Scripted {
    expression: Expression,
    topic_regex: Option<Regex>,
    nulls: NullHandling,
}

impl Scripted {
    fn build(p: &mut Props<'_>, expression_key: &str) -> Option<Scripted> {
        let language = p.string("language");
        let lang = language.trim();
        if !(lang.starts_with("jsr223.") || lang.eq_ignore_ascii_case("cel")) {
            let key = p.key("language");
            p.error(
                "language",
                format!("invalid value \"{lang}\" for {key}: it must begin with jsr223. (e.g. jsr223.groovy) or be cel; Sluice evaluates every language as CEL"),
            );
            return None;
        }
        let source = p.string(expression_key);
        let expression = match Expression::compile(&source) {
            Ok(e) => e,
            Err(e) => {
                let key = p.key(expression_key);
                p.error(
                    expression_key,
                    format!("failed to parse expression in {key}: {e}"),
                );
                return None;
            }
        };
        let topic_regex = match p.non_blank("topic.regex") {
            Some(_) => Some(p.regex("topic.regex", true)?),
            None => None,
        };
        let nulls = match p
            .get("null.handling.mode")
            .unwrap_or("keep")
            .to_ascii_lowercase()
            .as_str()
        {
            "drop" => NullHandling::Drop,
            "evaluate" => NullHandling::Evaluate,
            _ => NullHandling::Keep,
        };
        Some(Scripted {
            expression,
            topic_regex,
            nulls,
        })
    }

    /// `Some(result)` when the record is to be evaluated, `None` for a decision without it.
    fn pre(&self, r: &Record) -> Option<bool> {
        if let Some(regex) = &self.topic_regex {
            if !regex.is_match(&r.topic) {
                return Some(true);
            }
        }
        if !matches!(&r.value, Some(v) if !v.is_null()) {
            match self.nulls {
                NullHandling::Keep => return Some(true),
                NullHandling::Drop => return Some(false),
                NullHandling::Evaluate => {}
            }
        }
        None
    }
}

/// `io.debezium.transforms.Filter`.
pub(crate) fn filter(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(Filter(Scripted::build(p, "condition")?)))
}

struct Filter(Scripted);

impl Transform for Filter {
    fn apply(&mut self, r: Record) -> Result<Option<Record>, SmtError> {
        if let Some(keep) = self.0.pre(&r) {
            return Ok(keep.then_some(r));
        }
        match self.0.expression.eval(&r)? {
            Cel::Bool(true) => Ok(Some(r)),
            Cel::Bool(false) => Ok(None),
            other => Err(SmtError::new(format!(
                "the condition gave a {}, not a boolean",
                other.type_of()
            ))),
        }
    }
}

/// `io.debezium.transforms.ContentBasedRouter`.
pub(crate) fn content_based_router(p: &mut Props<'_>) -> Option<Box<dyn Transform>> {
    Some(Box::new(ContentBasedRouter(Scripted::build(
        p,
        "topic.expression",
    )?)))
}

struct ContentBasedRouter(Scripted);

impl Transform for ContentBasedRouter {
    fn apply(&mut self, mut r: Record) -> Result<Option<Record>, SmtError> {
        if let Some(keep) = self.0.pre(&r) {
            return Ok(keep.then_some(r));
        }
        match self.0.expression.eval(&r)? {
            Cel::String(topic) => {
                r.topic = topic.as_str().into();
                Ok(Some(r))
            }
            Cel::Null => Ok(Some(r)),
            other => Err(SmtError::new(format!(
                "topic.expression gave a {}, not a string",
                other.type_of()
            ))),
        }
    }
}
