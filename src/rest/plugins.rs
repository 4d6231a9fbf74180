//! `/connector-plugins`: the catalog of connector, converter and transform classes, their
//! config definitions, and config validation in Connect's `ConfigInfos` shape.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{json, Value as Json};
use sluice_config::definitions::{connector_definitions, KeyDef};
use sluice_config::jdbc::{is_jdbc_source_class, JDBC_SOURCE_CONNECTOR_CLASS};
use sluice_config::mysql::{mysql_flavor_of_class, MARIADB_CONNECTOR_CLASS, MYSQL_CONNECTOR_CLASS};
use sluice_config::postgres::POSTGRES_CONNECTOR_CLASS;
use sluice_config::{ConnectorConfig, ConverterClass};

use super::{bool_param, config_map, ok, parse_body, query_params, Api, ApiError, ApiResult};

/// Every plugin Sluice offers, as `GET /connector-plugins` lists them.
fn plugins(connectors_only: bool) -> Vec<Json> {
    let version = env!("CARGO_PKG_VERSION");
    let plugin = |class: &str, ty: &str| json!({"class": class, "type": ty, "version": version});
    let mut out = vec![
        plugin(JDBC_SOURCE_CONNECTOR_CLASS, "source"),
        plugin(MARIADB_CONNECTOR_CLASS, "source"),
        plugin(MYSQL_CONNECTOR_CLASS, "source"),
        plugin(POSTGRES_CONNECTOR_CLASS, "source"),
    ];
    if !connectors_only {
        for class in ConverterClass::CLASS_NAMES {
            out.push(plugin(class, "converter"));
        }
        out.push(plugin(
            "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "header_converter",
        ));
        for p in crate::transforms::plugins() {
            out.push(serde_json::to_value(&p).unwrap_or(Json::Null));
        }
    }
    out
}

pub(super) async fn list(RawQuery(query): RawQuery) -> ApiResult {
    let params = query_params(&query);
    let connectors_only = match params.iter().any(|(k, _)| k == "connectorsOnly") {
        true => bool_param(&params, "connectorsOnly")?,
        false => true,
    };
    ok(json!(plugins(connectors_only)))
}

/// The fully qualified connector class a path segment names (class, simple name or alias).
fn connector_class(plugin: &str) -> Result<&'static str, ApiError> {
    if sluice_config::postgres::is_postgres_class(plugin) {
        return Ok(POSTGRES_CONNECTOR_CLASS);
    }
    if is_jdbc_source_class(plugin) {
        return Ok(JDBC_SOURCE_CONNECTOR_CLASS);
    }
    if let Some(flavor) = mysql_flavor_of_class(plugin) {
        return Ok(flavor.class());
    }
    Err(ApiError(
        StatusCode::NOT_FOUND,
        format!(
            "Failed to find any class that implements Connector and which name matches {plugin}, available connectors are: {JDBC_SOURCE_CONNECTOR_CLASS}, {MARIADB_CONNECTOR_CLASS}, {MYSQL_CONNECTOR_CLASS}, {POSTGRES_CONNECTOR_CLASS}"
        ),
    ))
}

fn definition_json(d: &KeyDef, order: usize) -> Json {
    json!({
        "name": d.name,
        "type": d.ty,
        "required": d.required,
        "default_value": d.default,
        "importance": d.importance,
        "documentation": d.documentation,
        "group": d.group,
        "width": "NONE",
        "display_name": d.name,
        "dependents": [],
        "order": order,
    })
}

pub(super) async fn config(Path(plugin): Path<String>) -> ApiResult {
    if let Some(keys) = crate::transforms::plugin_config(&plugin) {
        return ok(serde_json::to_value(&keys).unwrap_or(Json::Null));
    }
    let class = connector_class(&plugin)?;
    let defs = connector_definitions(class).unwrap_or_default();
    let body: Vec<Json> = defs
        .iter()
        .enumerate()
        .map(|(i, d)| definition_json(d, i + 1))
        .collect();
    ok(json!(body))
}

/// `PUT /connector-plugins/{plugin}/config/validate`: every defined key with its value and
/// errors, plus every given key that has an error but no definition.
pub(super) async fn validate(
    State(_api): State<Api>,
    Path(plugin): Path<String>,
    body: Bytes,
) -> ApiResult {
    let class = connector_class(&plugin)?;
    let body = parse_body(&body)?;
    let mut config = config_map(&body, "the connector config")?;
    match config.get("connector.class") {
        Some(given) if connector_class(given).ok() != Some(class) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("Included connector type {given} does not match request type {plugin}"),
            ))
        }
        Some(_) => {}
        None => {
            config.insert("connector.class".into(), class.to_string());
        }
    }
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Err(e) = ConnectorConfig::from_map(&config) {
        for k in e.errors {
            errors.entry(k.key).or_default().push(k.message);
        }
    }
    for k in crate::transforms::validate(&config) {
        errors.entry(k.key).or_default().push(k.message);
    }
    let defs = connector_definitions(class).unwrap_or_default();
    let mut groups: Vec<&str> = Vec::new();
    let mut configs = Vec::new();
    let mut shown = std::collections::BTreeSet::new();
    let value_of = |name: &str| -> Json {
        match config.get(name) {
            Some(_) if sluice_config::is_secret_key(name) => json!(sluice_config::HIDDEN),
            Some(v) => json!(v),
            None => Json::Null,
        }
    };
    for (i, d) in defs.iter().enumerate() {
        if !groups.contains(&d.group) {
            groups.push(d.group);
        }
        shown.insert(d.name.to_string());
        let value = match config.get(d.name) {
            Some(_) => value_of(d.name),
            None => d.default.map_or(Json::Null, |v| json!(v)),
        };
        configs.push(json!({
            "definition": definition_json(d, i + 1),
            "value": {
                "name": d.name,
                "value": value,
                "recommended_values": [],
                "errors": errors.get(d.name).cloned().unwrap_or_default(),
                "visible": true,
            }
        }));
    }
    for (key, messages) in &errors {
        if shown.contains(key) {
            continue;
        }
        configs.push(json!({
            "definition": {
                "name": key, "type": "STRING", "required": false, "default_value": null,
                "importance": "LOW", "documentation": "", "group": null, "width": "NONE",
                "display_name": key, "dependents": [], "order": -1,
            },
            "value": {
                "name": key,
                "value": value_of(key),
                "recommended_values": [],
                "errors": messages,
                "visible": true,
            }
        }));
    }
    let error_count: usize = errors.values().map(Vec::len).sum();
    ok(json!({
        "name": class,
        "error_count": error_count,
        "groups": groups,
        "configs": configs,
    }))
}
