//! Loading worker and connector files as Kafka Connect writes them: `.properties`, or JSON
//! either as the REST API's `{"name": .., "config": {..}}` or as one flat object.
//!
//! ```text
//! path --read--> bytes --decode--> text --(json | properties)--> BTreeMap<String, String>
//! ```
//!
//! A file whose name ends in `.json` is JSON and one ending in `.properties` is properties;
//! any other file is JSON when its first non-blank character is `{`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::properties::{self, PropertiesError};

/// A connector file: its name and its full property map (which also holds `name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorFile {
    /// The connector name.
    pub name: String,
    /// Every property, `name` included, as strings.
    pub config: BTreeMap<String, String>,
}

/// A config file that cannot be used. Each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid JSON. The position is in the message of `source` (shown after
    /// this one in an error chain), not repeated here.
    #[error("invalid json in {}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The parser's description.
        #[source]
        source: serde_json::Error,
    },
    /// The file is not a valid `.properties` file. `source` starts with the line number,
    /// which is not repeated here.
    #[error("invalid properties file {}", path.display())]
    Properties {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// What is wrong on that line.
        #[source]
        source: PropertiesError,
    },
    /// The file parses but does not have the expected shape.
    #[error("invalid config file {}: {reason}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

/// Loads a connector file (`.json` or `.properties`); the name comes from the top-level
/// `"name"` (JSON) or the `name` key.
pub fn load_connector_file(path: &Path) -> Result<ConnectorFile, ConfigError> {
    let text = read(path)?;
    let shape = |reason: String| ConfigError::Shape {
        path: path.to_owned(),
        reason,
    };
    let mut config = if is_json(path, &text) {
        let root = parse_json(path, &text)?;
        let Value::Object(mut root) = root else {
            return Err(shape(
                "a connector file must be a json object: {\"name\": ..., \"config\": {...}}".into(),
            ));
        };
        match root.remove("config") {
            Some(Value::Object(inner)) => {
                let name = match root.remove("name") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s),
                    Some(_) => return Err(shape("\"name\" must be a string".into())),
                };
                let mut config = flatten(path, inner)?;
                if let Some(name) = name {
                    match config.get("name") {
                        Some(inner_name) if *inner_name != name => {
                            return Err(shape(format!(
                                "the connector is named \"{name}\" but its config has name \"{inner_name}\": make them equal"
                            )))
                        }
                        _ => {
                            config.insert("name".into(), name);
                        }
                    }
                }
                config
            }
            Some(_) => return Err(shape("\"config\" must be a json object".into())),
            // A flat object: the whole object is the config.
            None => flatten(path, root)?,
        }
    } else {
        parse_properties(path, &text)?
    };
    let name = config
        .get("name")
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| shape("the connector has no name: add a \"name\" key".into()))?;
    config.insert("name".into(), name.clone());
    Ok(ConnectorFile { name, config })
}

/// Loads a worker file (`.properties`, or a flat JSON object).
pub fn load_worker_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = read(path)?;
    if is_json(path, &text) {
        match parse_json(path, &text)? {
            Value::Object(root) => flatten(path, root),
            _ => Err(ConfigError::Shape {
                path: path.to_owned(),
                reason: "a worker file in json must be one object of properties".into(),
            }),
        }
    } else {
        parse_properties(path, &text)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(properties::decode(&bytes).into_owned())
}

fn is_json(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("json") => true,
        Some(ext) if ext.eq_ignore_ascii_case("properties") => false,
        _ => text.trim_start().starts_with('{'),
    }
}

fn parse_json(path: &Path, text: &str) -> Result<Value, ConfigError> {
    serde_json::from_str(text).map_err(|source| ConfigError::Json {
        path: path.to_owned(),
        line: source.line(),
        column: source.column(),
        source,
    })
}

fn parse_properties(path: &Path, text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    properties::parse(text).map_err(|source| ConfigError::Properties {
        path: path.to_owned(),
        line: source.line,
        source,
    })
}

/// JSON values to property strings: strings as they are, numbers and booleans as written,
/// `null` as absent (Kafka Connect treats a null value as unset).
fn flatten(
    path: &Path,
    object: serde_json::Map<String, Value>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for (key, value) in object {
        let value = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Null => continue,
            Value::Array(_) | Value::Object(_) => {
                return Err(ConfigError::Shape {
                    path: path.to_owned(),
                    reason: format!(
                        "the value of \"{key}\" must be a string, number or boolean: write lists as comma-separated strings"
                    ),
                })
            }
        };
        out.insert(key, value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(content.as_bytes()).expect("write");
        (dir, path)
    }

    #[test]
    fn rest_api_json() {
        let (_d, p) = file(
            "c.json",
            r#"{"name": "inv", "config": {"connector.class": "postgres", "database.port": 5432,
               "slot.drop.on.stop": true, "money.fraction.digits": 2.5, "skip": null}}"#,
        );
        let c = load_connector_file(&p).expect("valid");
        assert_eq!(c.name, "inv");
        assert_eq!(c.config["name"], "inv");
        assert_eq!(c.config["database.port"], "5432");
        assert_eq!(c.config["slot.drop.on.stop"], "true");
        assert_eq!(c.config["money.fraction.digits"], "2.5");
        assert!(!c.config.contains_key("skip"));
    }

    #[test]
    fn flat_json() {
        let (_d, p) = file("c.json", r#"{"name": "flat", "topic.prefix": "p"}"#);
        let c = load_connector_file(&p).expect("valid");
        assert_eq!(c.name, "flat");
        assert_eq!(c.config.len(), 2);
    }

    #[test]
    fn json_name_mismatch_and_missing_name() {
        let (_d, p) = file("c.json", r#"{"name": "a", "config": {"name": "b"}}"#);
        let e = load_connector_file(&p).expect_err("mismatch").to_string();
        assert!(
            e.contains("named \"a\" but its config has name \"b\""),
            "{e}"
        );
        let (_d, p) = file("c.json", r#"{"config": {"topic.prefix": "p"}}"#);
        let e = load_connector_file(&p).expect_err("no name").to_string();
        assert!(e.contains("has no name"), "{e}");
        let (_d, p) = file("c.properties", "topic.prefix=p\n");
        assert!(load_connector_file(&p).is_err());
    }

    #[test]
    fn malformed_json_names_file_line_and_column() {
        let (_d, p) = file(
            "bad.json",
            "{\n  \"name\": \"x\",\n  \"config\": {\"a\": }\n}\n",
        );
        let err = load_connector_file(&p).expect_err("bad json");
        match &err {
            ConfigError::Json { line, column, .. } => {
                assert_eq!(*line, 3);
                assert_eq!(*column, 19);
            }
            other => panic!("unexpected {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("bad.json"), "{message}");
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            cause
                .as_deref()
                .is_some_and(|c| c.contains("line 3 column 19")),
            "{cause:?}"
        );
    }

    #[test]
    fn nested_values_are_rejected() {
        let (_d, p) = file("c.json", r#"{"name": "x", "config": {"list": [1, 2]}}"#);
        let e = load_connector_file(&p).expect_err("array").to_string();
        assert!(e.contains("\"list\" must be a string"), "{e}");
    }

    #[test]
    fn properties_connector_and_error_line() {
        let (_d, p) = file("c.properties", "# c\nname = pg\nconnector.class=postgres\n");
        let c = load_connector_file(&p).expect("valid");
        assert_eq!(c.name, "pg");
        assert_eq!(c.config.len(), 2);
        let (_d, p) = file("bad.properties", "name=x\nk=\\uZZ\n");
        let err = load_connector_file(&p).expect_err("bad escape");
        assert!(matches!(err, ConfigError::Properties { line: 2, .. }));
        assert!(err.to_string().contains("bad.properties"));
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert!(
            cause.as_deref().is_some_and(|c| c.starts_with("line 2: ")),
            "{cause:?}"
        );
    }

    #[test]
    fn format_is_sniffed_without_extension() {
        let (_d, p) = file("connector", "  {\"name\": \"j\"}");
        assert_eq!(load_connector_file(&p).expect("json").name, "j");
        let (_d, p) = file("worker.conf", "sink=stdout\n");
        assert_eq!(load_worker_file(&p).expect("props")["sink"], "stdout");
    }

    #[test]
    fn missing_file_names_path() {
        let err = load_worker_file(Path::new("/nonexistent/sluice/worker.properties"))
            .expect_err("missing");
        assert!(err
            .to_string()
            .contains("/nonexistent/sluice/worker.properties"));
    }

    #[test]
    fn worker_json() {
        let (_d, p) = file(
            "w.json",
            r#"{"sink": "file", "offset.flush.interval.ms": 1000}"#,
        );
        let w = load_worker_file(&p).expect("valid");
        assert_eq!(w["offset.flush.interval.ms"], "1000");
        let (_d, p) = file("w.json", "[1]");
        assert!(matches!(
            load_worker_file(&p),
            Err(ConfigError::Shape { .. })
        ));
    }
}
