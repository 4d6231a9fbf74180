//! The Kafka Connect REST API: the same paths, JSON bodies, status codes and error bodies
//! (`{"error_code":…,"message":…}`), so Connect's scripts, CLIs and UIs drive Sluice unchanged.
//!
//! ```text
//! HTTP request ─> [basic auth] ─> router ─> Herder (lifecycle, configs, offsets)
//!                                       ├─> plugins (catalog, config defs, validate)
//!                                       ├─> loggers (tracing filter)
//!                                       └─> metrics (Prometheus text)
//! ```
//! Every handler answers; none panics on input. Bodies are parsed here rather than by axum's
//! extractors so that malformed JSON gets Connect's error body instead of a plain-text one.

mod plugins;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Map, Value as Json};
use tokio_util::sync::CancellationToken;

use crate::herder::{
    json_to_config_string, ConnectorView, Herder, HerderError, State as RunState, TargetState,
};

/// Changes the log levels at runtime (`/admin/loggers`); implemented by the binary, which owns
/// the tracing subscriber.
pub trait LogControl: Send + Sync {
    /// Every logger with an explicit level, plus `root`.
    fn levels(&self) -> BTreeMap<String, String>;
    /// Set `logger`'s level; returns the loggers affected. `Err` names what is wrong.
    fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String>;
}

#[derive(Clone)]
struct Api {
    herder: Herder,
    logs: Option<Arc<dyn LogControl>>,
    credentials: Option<Arc<BTreeMap<String, String>>>,
}

/// A Connect error response.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.0,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"error_code": self.0.as_u16(), "message": self.1}).to_string(),
        )
            .into_response()
    }
}

impl From<HerderError> for ApiError {
    fn from(e: HerderError) -> ApiError {
        let status = match &e {
            HerderError::NotFound(_) | HerderError::TaskNotFound { .. } => StatusCode::NOT_FOUND,
            HerderError::AlreadyExists(_) => StatusCode::CONFLICT,
            HerderError::Invalid { .. } | HerderError::BadRequest(_) => StatusCode::BAD_REQUEST,
            HerderError::Offsets(_) | HerderError::Persist { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        ApiError(status, e.to_string())
    }
}

type ApiResult = Result<Response, ApiError>;

fn json_response(status: StatusCode, body: Json) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn ok(body: Json) -> ApiResult {
    Ok(json_response(StatusCode::OK, body))
}

/// Parse a request body as JSON, with Connect's 400 for anything malformed.
fn parse_body(body: &Bytes) -> Result<Json, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("Request body is not valid JSON: {e}"),
        )
    })
}

/// A JSON object of config values (strings, or numbers/booleans Connect turns into strings).
fn config_map(v: &Json, what: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let obj = v.as_object().ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("{what} must be a JSON object of string values"),
        )
    })?;
    Ok(obj
        .iter()
        .map(|(k, v)| (k.clone(), json_to_config_string(v)))
        .collect())
}

fn query_params(query: &Option<String>) -> Vec<(String, String)> {
    query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn bool_param(params: &[(String, String)], name: &str) -> Result<bool, ApiError> {
    match params.iter().rev().find(|(k, _)| k == name) {
        None => Ok(false),
        Some((_, v)) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some((_, v)) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some((_, v)) => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("invalid value \"{v}\" for query parameter {name}: expected true or false"),
        )),
    }
}

/// Build the API's router.
pub fn router(
    herder: Herder,
    logs: Option<Arc<dyn LogControl>>,
    credentials: Option<BTreeMap<String, String>>,
) -> Router {
    let api = Api {
        herder,
        logs,
        credentials: credentials.map(Arc::new),
    };
    Router::new()
        .route("/", get(root))
        .route("/connectors", get(list_connectors).post(create_connector))
        .route(
            "/connectors/{name}",
            get(get_connector).delete(delete_connector),
        )
        .route(
            "/connectors/{name}/config",
            get(get_config).put(put_config).patch(patch_config),
        )
        .route("/connectors/{name}/status", get(connector_status))
        .route("/connectors/{name}/tasks", get(connector_tasks))
        .route("/connectors/{name}/tasks/{task}/status", get(task_status))
        .route(
            "/connectors/{name}/tasks/{task}/restart",
            post(restart_task),
        )
        .route("/connectors/{name}/restart", post(restart_connector))
        .route("/connectors/{name}/pause", put(pause))
        .route("/connectors/{name}/resume", put(resume))
        .route("/connectors/{name}/stop", put(stop))
        .route(
            "/connectors/{name}/offsets",
            get(get_offsets).patch(patch_offsets).delete(reset_offsets),
        )
        .route("/connectors/{name}/topics", get(get_topics))
        .route("/connectors/{name}/topics/reset", put(reset_topics))
        .route("/connector-plugins", get(plugins::list))
        .route("/connector-plugins/{plugin}/config", get(plugins::config))
        .route(
            "/connector-plugins/{plugin}/config/validate",
            put(plugins::validate),
        )
        .route("/admin/loggers", get(list_loggers))
        .route("/admin/loggers/{logger}", get(get_logger).put(put_logger))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            api.clone(),
            authenticate,
        ))
        .with_state(api)
}

async fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "HTTP 404 Not Found".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP 405 Method Not Allowed".into(),
    )
}

/// HTTP basic authentication against `rest.basic.auth.credentials.file`, as Connect's
/// `BasicAuthSecurityRestExtension` does with its property file.
async fn authenticate(
    State(api): State<Api>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(credentials) = &api.credentials else {
        return next.run(request).await;
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok());
    let allowed = given
        .as_deref()
        .and_then(|g| g.split_once(':'))
        .is_some_and(|(user, password)| {
            credentials
                .get(user)
                .is_some_and(|expected| constant_time_eq(expected.as_bytes(), password.as_bytes()))
        });
    if allowed {
        return next.run(request).await;
    }
    let mut response = ApiError(
        StatusCode::UNAUTHORIZED,
        "Credentials are missing or wrong: send HTTP basic authentication with a user from the worker's rest.basic.auth.credentials.file".into(),
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"sluice\""),
    );
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Read `user: password` (or `user=password`) lines; `#` comments. Connect's property-file
/// login module allows a role list after the password (`pass,role`), which is dropped here.
pub fn load_credentials(path: &std::path::Path) -> Result<BTreeMap<String, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read rest.basic.auth.credentials.file {}: {e}",
            path.display()
        )
    })?;
    let props = sluice_config::properties::parse(&text).map_err(|e| {
        format!(
            "rest.basic.auth.credentials.file {} is not a properties file: {e}",
            path.display()
        )
    })?;
    let users: BTreeMap<String, String> = props
        .into_iter()
        .map(|(user, value)| {
            let password = value.split(',').next().unwrap_or("").trim().to_string();
            (user, password)
        })
        .collect();
    if users.is_empty() {
        return Err(format!(
            "rest.basic.auth.credentials.file {} lists no users: add lines `user: password`",
            path.display()
        ));
    }
    Ok(users)
}

async fn root() -> ApiResult {
    ok(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "commit": option_env!("SLUICE_GIT_COMMIT").unwrap_or("unknown"),
        "kafka_cluster_id": serde_json::Value::Null,
    }))
}

/// A config as the API shows it: secrets masked, as Connect masks PASSWORD-typed values.
fn masked(config: &BTreeMap<String, String>) -> Json {
    let map: Map<String, Json> = config
        .iter()
        .map(|(k, v)| {
            let v = if sluice_config::is_secret_key(k) {
                sluice_config::HIDDEN
            } else {
                v.as_str()
            };
            (k.clone(), json!(v))
        })
        .collect();
    Json::Object(map)
}

fn info_json(v: &ConnectorView) -> Json {
    json!({
        "name": v.name,
        "config": masked(&v.config),
        "tasks": tasks_ids(v),
        "type": "source",
    })
}

fn tasks_ids(v: &ConnectorView) -> Json {
    if v.target == TargetState::Stopped {
        json!([])
    } else {
        json!([{"connector": v.name, "task": 0}])
    }
}

fn status_json(v: &ConnectorView, worker_id: &str) -> Json {
    let mut connector = json!({"state": v.connector.state.as_str(), "worker_id": worker_id});
    if let Some(trace) = &v.connector.trace {
        connector["trace"] = json!(trace);
    }
    let tasks = if v.target == TargetState::Stopped {
        json!([])
    } else {
        let mut task = json!({"id": 0, "state": v.task.state.as_str(), "worker_id": worker_id});
        if let Some(trace) = &v.task.trace {
            task["trace"] = json!(trace);
        }
        json!([task])
    };
    json!({"name": v.name, "connector": connector, "tasks": tasks, "type": "source"})
}

async fn list_connectors(State(api): State<Api>, RawQuery(query): RawQuery) -> ApiResult {
    let params = query_params(&query);
    let expand: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "expand")
        .flat_map(|(_, v)| v.split(','))
        .collect();
    if expand.is_empty() {
        return ok(json!(api.herder.names().await));
    }
    let mut out = Map::new();
    for v in api.herder.views().await {
        let mut entry = Map::new();
        if expand.contains(&"status") {
            entry.insert("status".into(), status_json(&v, api.herder.worker_id()));
        }
        if expand.contains(&"info") {
            entry.insert("info".into(), info_json(&v));
        }
        out.insert(v.name.clone(), Json::Object(entry));
    }
    ok(Json::Object(out))
}

async fn create_connector(State(api): State<Api>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let name = body
        .get("name")
        .and_then(Json::as_str)
        .map(str::to_string)
        .or_else(|| {
            body.get("config")
                .and_then(|c| c.get("name"))
                .and_then(Json::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| {
            ApiError(
                StatusCode::BAD_REQUEST,
                "Connector name cannot be empty: the body needs {\"name\":…,\"config\":{…}}".into(),
            )
        })?;
    let config = body.get("config").ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "Connector config is missing: the body needs {\"name\":…,\"config\":{…}}".into(),
        )
    })?;
    let mut config = config_map(config, "config")?;
    if let Some(other) = config.get("name") {
        if *other != name {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("Connector name configuration ({other}) doesn't match connector name in the URL ({name})"),
            ));
        }
    }
    config.insert("name".into(), name.clone());
    let target = match body.get("initial_state").and_then(Json::as_str) {
        None | Some("RUNNING") => TargetState::Started,
        Some("PAUSED") => TargetState::Paused,
        Some("STOPPED") => TargetState::Stopped,
        Some(other) => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("invalid initial_state \"{other}\": expected RUNNING, PAUSED or STOPPED"),
            ))
        }
    };
    api.herder.put(config, false, target).await?;
    let view = api.herder.view(&name).await?;
    Ok(json_response(StatusCode::CREATED, info_json(&view)))
}

async fn get_connector(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let view = api.herder.view(&name).await?;
    ok(info_json(&view))
}

async fn delete_connector(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    api.herder.delete(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_config(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let view = api.herder.view(&name).await?;
    ok(masked(&view.config))
}

async fn put_config(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let mut config = config_map(&body, "the connector config")?;
    if let Some(other) = config.get("name") {
        if *other != name {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("Connector name configuration ({other}) doesn't match connector name in the URL ({name})"),
            ));
        }
    }
    config.insert("name".into(), name.clone());
    let created = api.herder.put(config, true, TargetState::Started).await?;
    let view = api.herder.view(&name).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_response(status, info_json(&view)))
}

/// KIP-477: merge the body into the config; a `null` value removes the key.
async fn patch_config(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let patch = body.as_object().ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "the config patch must be a JSON object".into(),
        )
    })?;
    let view = api.herder.view(&name).await?;
    let mut config = view.config;
    for (k, v) in patch {
        if v.is_null() {
            config.remove(k);
        } else {
            config.insert(k.clone(), json_to_config_string(v));
        }
    }
    if config.get("name").is_some_and(|n| *n != name) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "Connector name configuration cannot be changed by PATCH".into(),
        ));
    }
    config.insert("name".into(), name.clone());
    api.herder.put(config, true, view.target).await?;
    let view = api.herder.view(&name).await?;
    ok(info_json(&view))
}

async fn connector_status(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let view = api.herder.view(&name).await?;
    let mut status = status_json(&view, api.herder.worker_id());
    if let Some(task) = status["tasks"].get_mut(0) {
        add_snapshot_progress(task, &api, &name).await;
    }
    ok(status)
}

/// Sluice's addition to a task's status: the running or latest snapshot's progress per table
/// (rows done, the planner's estimate, rows/s, seconds left), the numbers the snapshot logs.
async fn add_snapshot_progress(task: &mut Json, api: &Api, name: &str) {
    let Ok(metrics) = api.herder.connector_metrics(name).await else {
        return;
    };
    let tables: serde_json::Map<String, Json> = metrics
        .snapshot_status()
        .into_iter()
        .map(|t| {
            (
                t.table,
                json!({
                    "rows_done": t.rows_done,
                    "rows_estimated": t.rows_estimated,
                    "rows_per_second": t.rows_per_second.round() as u64,
                    "eta_seconds": t.eta_seconds,
                }),
            )
        })
        .collect();
    if !tables.is_empty() {
        task["snapshot"] = Json::Object(tables);
    }
}

async fn connector_tasks(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let view = api.herder.view(&name).await?;
    if view.target == TargetState::Stopped {
        return ok(json!([]));
    }
    ok(json!([{"id": {"connector": name, "task": 0}, "config": masked(&view.config)}]))
}

fn task_id(connector: &str, task: &str) -> Result<u32, ApiError> {
    task.parse().map_err(|_| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("Task {task} not found for connector {connector}"),
        )
    })
}

async fn task_status(
    State(api): State<Api>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult {
    let id = task_id(&name, &task)?;
    let view = api.herder.view(&name).await?;
    if id != 0 || view.target == TargetState::Stopped {
        return Err(HerderError::TaskNotFound {
            connector: name,
            task: id,
        }
        .into());
    }
    let mut body =
        json!({"id": 0, "state": view.task.state.as_str(), "worker_id": api.herder.worker_id()});
    if let Some(trace) = &view.task.trace {
        body["trace"] = json!(trace);
    }
    add_snapshot_progress(&mut body, &api, &name).await;
    ok(body)
}

async fn restart_task(
    State(api): State<Api>,
    Path((name, task)): Path<(String, String)>,
) -> ApiResult {
    let id = task_id(&name, &task)?;
    api.herder.restart_task(&name, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn restart_connector(
    State(api): State<Api>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let params = query_params(&query);
    let include_tasks = bool_param(&params, "includeTasks")?;
    let only_failed = bool_param(&params, "onlyFailed")?;
    let before = api.herder.view(&name).await?;
    api.herder
        .restart(&name, include_tasks, only_failed)
        .await?;
    if !include_tasks && !only_failed {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // Connect answers 202 with the status as of the restart request: what restarts is
    // RESTARTING.
    let mut view = api.herder.view(&name).await?;
    let task_restarts = include_tasks && (!only_failed || before.task.state == RunState::Failed);
    if task_restarts && view.task.state == RunState::Running {
        view.task.state = RunState::Restarting;
    }
    if (!only_failed || before.connector.state == RunState::Failed)
        && view.connector.state == RunState::Running
    {
        view.connector.state = RunState::Restarting;
    }
    Ok(json_response(
        StatusCode::ACCEPTED,
        status_json(&view, api.herder.worker_id()),
    ))
}

async fn pause(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    api.herder.set_target(&name, TargetState::Paused).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn resume(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    api.herder.set_target(&name, TargetState::Started).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn stop(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    api.herder.set_target(&name, TargetState::Stopped).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_offsets(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let offsets: Vec<Json> = api
        .herder
        .offsets(&name)
        .await?
        .into_iter()
        .map(|(partition, offset)| json!({"partition": partition, "offset": offset}))
        .collect();
    ok(json!({ "offsets": offsets }))
}

async fn patch_offsets(State(api): State<Api>, Path(name): Path<String>, body: Bytes) -> ApiResult {
    let body = parse_body(&body)?;
    let bad = |m: &str| ApiError(StatusCode::BAD_REQUEST, m.to_string());
    let list = body
        .get("offsets")
        .and_then(Json::as_array)
        .ok_or_else(|| {
            bad("the body must be {\"offsets\":[{\"partition\":{…},\"offset\":{…}}]}")
        })?;
    if list.is_empty() {
        return Err(bad("Offsets to alter must not be empty"));
    }
    let mut changes = Vec::new();
    for item in list {
        let partition = item
            .get("partition")
            .filter(|p| p.is_object())
            .ok_or_else(|| bad("each entry of offsets needs a \"partition\" object, e.g. {\"server\":\"<topic.prefix>\"}"))?;
        let offset =
            match item.get("offset") {
                None | Some(Json::Null) => None,
                Some(Json::Object(o)) => Some(o.clone()),
                Some(_) => return Err(bad(
                    "an \"offset\" must be a JSON object, or null to remove the partition's offset",
                )),
            };
        changes.push((partition.clone(), offset));
    }
    api.herder.alter_offsets(&name, Some(changes)).await?;
    ok(json!({"message": "The offsets for this connector have been altered successfully"}))
}

async fn reset_offsets(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    api.herder.alter_offsets(&name, None).await?;
    ok(json!({"message": "The offsets for this connector have been reset successfully"}))
}

async fn get_topics(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let metrics = api.herder.connector_metrics(&name).await?;
    ok(json!({ name: {"topics": metrics.topics()} }))
}

async fn reset_topics(State(api): State<Api>, Path(name): Path<String>) -> ApiResult {
    let metrics = api.herder.connector_metrics(&name).await?;
    metrics.reset_topics();
    Ok(StatusCode::OK.into_response())
}

fn log_control(api: &Api) -> Result<&Arc<dyn LogControl>, ApiError> {
    api.logs.as_ref().ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            "log levels cannot be changed in this process".into(),
        )
    })
}

async fn list_loggers(State(api): State<Api>) -> ApiResult {
    let logs = log_control(&api)?;
    let body: Map<String, Json> = logs
        .levels()
        .into_iter()
        .map(|(k, v)| (k, json!({ "level": v })))
        .collect();
    ok(Json::Object(body))
}

async fn get_logger(State(api): State<Api>, Path(logger): Path<String>) -> ApiResult {
    let logs = log_control(&api)?;
    let levels = logs.levels();
    match levels.get(&logger) {
        Some(level) => ok(json!({ "level": level })),
        None => Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("Logger {logger} not found."),
        )),
    }
}

async fn put_logger(
    State(api): State<Api>,
    Path(logger): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> ApiResult {
    let logs = log_control(&api)?;
    let body = parse_body(&body)?;
    let level = body.get("level").and_then(Json::as_str).ok_or_else(|| {
        ApiError(
            StatusCode::BAD_REQUEST,
            "Desired 'level' parameter was not specified in request.".into(),
        )
    })?;
    let params = query_params(&query);
    if let Some((_, scope)) = params.iter().find(|(k, _)| k == "scope") {
        if !scope.eq_ignore_ascii_case("worker") {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!(
                    "scope \"{scope}\" is not supported by a standalone worker: use scope=worker"
                ),
            ));
        }
    }
    let changed = logs
        .set(&logger, level)
        .map_err(|m| ApiError(StatusCode::BAD_REQUEST, m))?;
    ok(json!(changed))
}

async fn metrics(State(api): State<Api>) -> Response {
    let text = crate::metrics::render(&api.herder.metrics().await);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// Bind every listener now (so a taken port is a start-up error), then serve until
/// `shutdown`. Returns the bound addresses (port 0 becomes the real port).
pub async fn serve(
    router: Router,
    listeners: &[sluice_config::Listener],
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> Result<Vec<(bool, std::net::SocketAddr)>, String> {
    let mut bound = Vec::new();
    for l in listeners {
        let listener = tokio::net::TcpListener::bind((l.host.as_str(), l.port))
            .await
            .map_err(|e| format!("cannot listen on {l} (listeners): {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {l} (listeners): {e}"))?;
        bound.push((l.https, addr));
        let router = router.clone();
        let shutdown = shutdown.clone();
        if l.https {
            let Some(tls) = tls.clone() else {
                return Err(format!(
                    "{l} needs a TLS keystore (listeners.https.ssl.keystore.location)"
                ));
            };
            tokio::spawn(tls_server::serve(listener, router, tls, shutdown));
        } else {
            tokio::spawn(async move {
                let served = axum::serve(listener, router)
                    .with_graceful_shutdown(async move { shutdown.cancelled().await })
                    .await;
                if let Err(e) = served {
                    tracing::error!("REST API stopped: {e}");
                }
            });
        }
    }
    Ok(bound)
}

pub mod tls_server;
