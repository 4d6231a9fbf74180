//! A **test double** of the Confluent Schema Registry: a small in-memory HTTP server that speaks
//! the part of Confluent's REST API that Avro serialisers use. There is no real registry on the
//! machines this project runs on (it is a JVM service), so tests of the Avro converter talk to
//! this one instead. It is not a registry to deploy: nothing is persisted, there is one
//! instance, no deletes, no schema references, no modes/contexts, Avro schemas only.
//!
//! ```text
//! SchemaRegistry::start() --> bind 127.0.0.1:<free port> --> thread "schema-registry"
//!     (current-thread tokio runtime running axum) <--HTTP-- client under test
//! drop(SchemaRegistry) --> stop signal --> runtime dropped (connections closed) --> joined
//! ```
//!
//! What it follows, so that a client written against it works against the real one:
//! - `POST /subjects/{s}/versions` → `{"id":N}`. A schema equal to one of the subject's versions
//!   returns that version's id without a compatibility check; a schema already registered
//!   under another subject reuses its global id; otherwise the schema must pass the
//!   compatibility level (default `BACKWARD`) against the subject's versions.
//! - `POST /subjects/{s}` (lookup) → `{"subject","version","id","schema"}`.
//! - `GET /schemas/ids/{id}`, `GET /subjects`, `GET /subjects/{s}/versions`,
//!   `GET /subjects/{s}/versions/{v|latest}` (and `.../schema`).
//! - `POST /compatibility/subjects/{s}/versions/{v|latest}` → `{"is_compatible":bool}`
//!   (`?verbose=true` adds `messages`).
//! - `GET|PUT /config`, `GET|PUT /config/{s}` (`?defaultToGlobal=true`): `NONE`, `BACKWARD`,
//!   `FORWARD`, `FULL` and their `_TRANSITIVE` forms. The checks are Avro's schema-resolution
//!   rules (see the `avro` submodule).
//! - Errors as `{"error_code":…, "message":…}` with Confluent's codes: 40401 subject not found,
//!   40402 version not found, 40403 schema not found, 40408 no subject-level config, 42201
//!   invalid schema, 42202 invalid version, 42203 invalid compatibility level, 409 incompatible
//!   (HTTP 409), 401 unauthorized, 50001 backend error (only when injected with
//!   [`SchemaRegistry::fail_requests`]).
//! - Responses are `application/vnd.schemaregistry.v1+json`; request bodies are read as JSON
//!   whatever their content type. Optional HTTP basic auth.
//!
//! Schemas are compared as parsed JSON (key order does not matter), which is close to the
//! registry's comparison of parsed Avro schemas.

mod avro;

use std::collections::{BTreeMap, HashMap};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value as Json};

use crate::Error;

/// The content type of every answer (and the one clients send).
pub const SCHEMA_REGISTRY_CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A compatibility level (`compatibilityLevel` / `compatibility` in `/config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compatibility {
    None,
    Backward,
    BackwardTransitive,
    Forward,
    ForwardTransitive,
    Full,
    FullTransitive,
}

impl Compatibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Compatibility::None => "NONE",
            Compatibility::Backward => "BACKWARD",
            Compatibility::BackwardTransitive => "BACKWARD_TRANSITIVE",
            Compatibility::Forward => "FORWARD",
            Compatibility::ForwardTransitive => "FORWARD_TRANSITIVE",
            Compatibility::Full => "FULL",
            Compatibility::FullTransitive => "FULL_TRANSITIVE",
        }
    }

    fn parse(s: &str) -> Option<Compatibility> {
        Some(match s.to_ascii_uppercase().as_str() {
            "NONE" => Compatibility::None,
            "BACKWARD" => Compatibility::Backward,
            "BACKWARD_TRANSITIVE" => Compatibility::BackwardTransitive,
            "FORWARD" => Compatibility::Forward,
            "FORWARD_TRANSITIVE" => Compatibility::ForwardTransitive,
            "FULL" => Compatibility::Full,
            "FULL_TRANSITIVE" => Compatibility::FullTransitive,
            _ => return None,
        })
    }

    /// (new schema must read old data, old schema must read new data, against all versions)
    fn directions(self) -> (bool, bool, bool) {
        match self {
            Compatibility::None => (false, false, false),
            Compatibility::Backward => (true, false, false),
            Compatibility::BackwardTransitive => (true, false, true),
            Compatibility::Forward => (false, true, false),
            Compatibility::ForwardTransitive => (false, true, true),
            Compatibility::Full => (true, true, false),
            Compatibility::FullTransitive => (true, true, true),
        }
    }
}

/// How to start a [`SchemaRegistry`].
#[derive(Debug, Clone, Default)]
pub struct SchemaRegistryOptions {
    /// Require HTTP basic auth with this user and password.
    pub basic_auth: Option<(String, String)>,
}

/// A running Schema Registry double on a loopback port; stops when dropped.
pub struct SchemaRegistry {
    url: String,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<RegistryState>,
    basic_auth: Option<String>,
}

#[derive(Default)]
struct RegistryState {
    /// Schema text by id - 1.
    schemas: Vec<StoredSchema>,
    /// Schema ids by version - 1, per subject.
    subjects: BTreeMap<String, Vec<u32>>,
    global: Option<Compatibility>,
    per_subject: HashMap<String, Compatibility>,
    failure: Option<InjectedFailure>,
    requests: u64,
}

struct StoredSchema {
    text: String,
    json: Json,
}

/// An answer every request gets while set (see [`SchemaRegistry::fail_requests`]).
#[derive(Debug, Clone)]
pub struct InjectedFailure {
    pub status: u16,
    pub error_code: u32,
    pub message: String,
}

impl InjectedFailure {
    /// What the registry answers when its backing Kafka topic is unavailable.
    pub fn backend_error() -> InjectedFailure {
        InjectedFailure {
            status: 500,
            error_code: 50001,
            message: "Error in the backend data store".into(),
        }
    }
}

impl SchemaRegistry {
    /// Start a registry without authentication.
    pub fn start() -> Result<SchemaRegistry, Error> {
        SchemaRegistry::start_with(SchemaRegistryOptions::default())
    }

    pub fn start_with(options: SchemaRegistryOptions) -> Result<SchemaRegistry, Error> {
        let io = |action: &'static str| move |source| Error::SchemaRegistry { action, source };
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .map_err(io("bind a loopback port for the schema registry double"))?;
        listener
            .set_nonblocking(true)
            .map_err(io("configure the schema registry double's socket"))?;
        let addr = listener
            .local_addr()
            .map_err(io("read the schema registry double's address"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io("start the schema registry double's runtime"))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(RegistryState::default()),
            basic_auth: options.basic_auth.map(|(user, password)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                )
            }),
        });
        let app = router(shared.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("schema-registry".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "schema registry double could not listen");
                            return;
                        }
                    };
                    tokio::select! {
                        // Dropping the runtime afterwards closes every open connection.
                        _ = stopped => {}
                        result = axum::serve(listener, app) => {
                            if let Err(e) = result {
                                tracing::error!(error = %e, "schema registry double stopped");
                            }
                        }
                    }
                });
            })
            .map_err(io("spawn the schema registry double's thread"))?;
        Ok(SchemaRegistry {
            url: format!("http://{addr}"),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`: the `schema.registry.url` to give a client.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Set the global compatibility level (`None` resets it to the default, `BACKWARD`).
    pub fn set_compatibility(&self, level: Option<Compatibility>) {
        self.shared.lock().global = level;
    }

    /// Set a subject's compatibility level (`None` removes it: the global level applies).
    pub fn set_subject_compatibility(&self, subject: &str, level: Option<Compatibility>) {
        let mut state = self.shared.lock();
        match level {
            Some(l) => state.per_subject.insert(subject.to_string(), l),
            None => state.per_subject.remove(subject),
        };
    }

    /// Answer every request with `failure` (`None`: serve normally again).
    pub fn fail_requests(&self, failure: Option<InjectedFailure>) {
        self.shared.lock().failure = failure;
    }

    /// The registered subjects, sorted.
    pub fn subjects(&self) -> Vec<String> {
        self.shared.lock().subjects.keys().cloned().collect()
    }

    /// The schema ids of a subject's versions, oldest first.
    pub fn versions(&self, subject: &str) -> Vec<u32> {
        self.shared
            .lock()
            .subjects
            .get(subject)
            .cloned()
            .unwrap_or_default()
    }

    /// The text of schema `id`, as registered.
    pub fn schema(&self, id: u32) -> Option<String> {
        let state = self.shared.lock();
        stored(&state, id).map(|s| s.text.clone())
    }

    /// How many HTTP requests the registry has answered (authorised or not).
    pub fn request_count(&self) -> u64 {
        self.shared.lock().requests
    }
}

impl Drop for SchemaRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SchemaRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistry")
            .field("url", &self.url)
            .finish()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, RegistryState> {
        // A handler that panicked mid-update leaves the state as it was: keep serving it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn stored(state: &RegistryState, id: u32) -> Option<&StoredSchema> {
    usize::try_from(id)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| state.schemas.get(i))
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(|| async { reply(StatusCode::OK, json!({})) }))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{subject}", post(lookup))
        .route(
            "/subjects/{subject}/versions",
            get(list_versions).post(register),
        )
        .route("/subjects/{subject}/versions/{version}", get(get_version))
        .route(
            "/subjects/{subject}/versions/{version}/schema",
            get(get_version_schema),
        )
        .route("/schemas/ids/{id}", get(get_schema))
        .route(
            "/compatibility/subjects/{subject}/versions/{version}",
            post(check_compatibility),
        )
        .route("/config", get(get_global_config).put(put_global_config))
        .route(
            "/config/{subject}",
            get(get_subject_config).put(put_subject_config),
        )
        .fallback(|| async { error(StatusCode::NOT_FOUND, 404, "HTTP 404 Not Found") })
        .layer(axum::middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// Counts requests, checks basic auth, and answers with an injected failure when one is set.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let failure = {
        let mut state = shared.lock();
        state.requests += 1;
        state.failure.clone()
    };
    if let Some(expected) = &shared.basic_auth {
        let given = request
            .headers()
            .get(AUTHORIZATION)
            .map(HeaderValue::as_bytes);
        if given != Some(expected.as_bytes()) {
            let mut response = error(StatusCode::UNAUTHORIZED, 401, "Unauthorized");
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"SchemaRegistry\""),
            );
            return response;
        }
    }
    if let Some(f) = failure {
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, f.error_code, &f.message);
    }
    next.run(request).await
}

fn reply(status: StatusCode, body: Json) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(SCHEMA_REGISTRY_CONTENT_TYPE),
    );
    response
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    reply(status, json!({"error_code": code, "message": message}))
}

/// An error answer on the `Err` side of a helper (boxed: a response is large).
fn boxed(status: StatusCode, code: u32, message: &str) -> Box<Response> {
    Box::new(error(status, code, message))
}

fn subject_not_found(subject: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        40401,
        &format!("Subject '{subject}' not found."),
    )
}

fn has_flag(uri: &Uri, flag: &str) -> bool {
    uri.query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.eq_ignore_ascii_case(&format!("{flag}=true")))
    })
}

/// A schema from a request body, parsed; `Err` is the registry's answer.
struct Candidate {
    text: String,
    json: Json,
    parsed: avro::Parsed,
}

fn candidate(body: &Bytes) -> Result<Candidate, Box<Response>> {
    let request: Json = serde_json::from_slice(body).map_err(|e| {
        boxed(
            StatusCode::BAD_REQUEST,
            400,
            &format!("Unrecognized request body: {e}"),
        )
    })?;
    match request.get("schemaType").and_then(Json::as_str) {
        None | Some("AVRO") => {}
        Some(other) => {
            return Err(boxed(
                StatusCode::UNPROCESSABLE_ENTITY,
                42201,
                &format!("Invalid schema type {other}: this test double only supports AVRO"),
            ))
        }
    }
    if request
        .get("references")
        .and_then(Json::as_array)
        .is_some_and(|r| !r.is_empty())
    {
        return Err(boxed(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Invalid schema: schema references are not supported by this test double",
        ));
    }
    let Some(text) = request.get("schema").and_then(Json::as_str) else {
        return Err(boxed(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            "Invalid schema: the request has no \"schema\" string",
        ));
    };
    let invalid = |detail: String| {
        boxed(
            StatusCode::UNPROCESSABLE_ENTITY,
            42201,
            &format!("Invalid schema {text}, details: {detail}"),
        )
    };
    let json: Json = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let parsed = avro::parse(text).map_err(invalid)?;
    Ok(Candidate {
        text: text.to_string(),
        json,
        parsed,
    })
}

fn level_of(state: &RegistryState, subject: &str) -> Compatibility {
    state
        .per_subject
        .get(subject)
        .copied()
        .or(state.global)
        .unwrap_or(Compatibility::Backward)
}

/// Check `candidate` against the versions `level` covers (newest first); the error lists why.
fn check_against(
    state: &RegistryState,
    candidate: &Candidate,
    versions: &[u32],
    level: Compatibility,
) -> Result<(), (usize, avro::Incompatibility)> {
    let (backward, forward, transitive) = level.directions();
    if !backward && !forward {
        return Ok(());
    }
    let against: Vec<(usize, u32)> = if transitive {
        versions.iter().copied().enumerate().rev().collect()
    } else {
        versions
            .iter()
            .copied()
            .enumerate()
            .next_back()
            .into_iter()
            .collect()
    };
    for (index, id) in against {
        let Some(old) = stored(state, id) else {
            continue;
        };
        // Stored schemas were parsed when registered; this cannot fail.
        let Ok(old) = avro::parse(&old.text) else {
            continue;
        };
        if backward {
            avro::can_read(&candidate.parsed, &old).map_err(|e| (index + 1, e))?;
        }
        if forward {
            avro::can_read(&old, &candidate.parsed).map_err(|e| (index + 1, e))?;
        }
    }
    Ok(())
}

fn incompatibility_detail(
    state: &RegistryState,
    versions: &[u32],
    version: usize,
    e: &avro::Incompatibility,
    level: Compatibility,
) -> String {
    let old = versions
        .get(version.saturating_sub(1))
        .and_then(|id| stored(state, *id))
        .map(|s| s.text.as_str())
        .unwrap_or("");
    format!(
        "[{{errorType:'{}', description:'{}', additionalInfo:'{}'}}, {{oldSchemaVersion: {version}}}, {{oldSchema: '{old}'}}, {{compatibility: '{}'}}]",
        e.kind,
        e.description,
        e.additional_info,
        level.as_str()
    )
}

async fn list_subjects(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    reply(
        StatusCode::OK,
        json!(state.subjects.keys().collect::<Vec<_>>()),
    )
}

async fn list_versions(State(shared): State<Arc<Shared>>, Path(subject): Path<String>) -> Response {
    let state = shared.lock();
    match state.subjects.get(&subject) {
        Some(v) => reply(StatusCode::OK, json!((1..=v.len()).collect::<Vec<_>>())),
        None => subject_not_found(&subject),
    }
}

async fn register(
    State(shared): State<Arc<Shared>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let candidate = match candidate(&body) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let mut state = shared.lock();
    let versions = state.subjects.get(&subject).cloned().unwrap_or_default();
    // Already a version of this subject: its id, no new version.
    for id in &versions {
        if stored(&state, *id).is_some_and(|s| s.json == candidate.json) {
            return reply(StatusCode::OK, json!({"id": id}));
        }
    }
    let level = level_of(&state, &subject);
    if let Err((version, e)) = check_against(&state, &candidate, &versions, level) {
        let detail = incompatibility_detail(&state, &versions, version, &e, level);
        return error(
            StatusCode::CONFLICT,
            409,
            &format!(
                "Schema being registered is incompatible with an earlier schema for subject \"{subject}\", details: {detail}"
            ),
        );
    }
    let existing = state
        .schemas
        .iter()
        .position(|s| s.json == candidate.json)
        .and_then(|i| u32::try_from(i + 1).ok());
    let id = match existing {
        Some(id) => id,
        None => {
            state.schemas.push(StoredSchema {
                text: candidate.text,
                json: candidate.json,
            });
            u32::try_from(state.schemas.len()).unwrap_or(u32::MAX)
        }
    };
    state.subjects.entry(subject).or_default().push(id);
    reply(StatusCode::OK, json!({"id": id}))
}

async fn lookup(
    State(shared): State<Arc<Shared>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    let candidate = match candidate(&body) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let state = shared.lock();
    let Some(versions) = state.subjects.get(&subject) else {
        return subject_not_found(&subject);
    };
    for (i, id) in versions.iter().enumerate() {
        if let Some(s) = stored(&state, *id).filter(|s| s.json == candidate.json) {
            return reply(
                StatusCode::OK,
                json!({"subject": subject, "version": i + 1, "id": id, "schema": s.text}),
            );
        }
    }
    error(StatusCode::NOT_FOUND, 40403, "Schema not found")
}

/// The (version number, schema id) that `version` names in a subject, or the error answer.
fn resolve_version(
    state: &RegistryState,
    subject: &str,
    version: &str,
) -> Result<(usize, u32), Box<Response>> {
    let versions = state
        .subjects
        .get(subject)
        .ok_or_else(|| Box::new(subject_not_found(subject)))?;
    let number = if version == "latest" || version == "-1" {
        versions.len()
    } else {
        match version.parse::<i32>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => {
                return Err(boxed(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    42202,
                    &format!(
                        "The specified version '{version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string \"latest\""
                    ),
                ))
            }
        }
    };
    match number.checked_sub(1).and_then(|i| versions.get(i)) {
        Some(id) => Ok((number, *id)),
        None => Err(boxed(
            StatusCode::NOT_FOUND,
            40402,
            &format!("Version {version} not found."),
        )),
    }
}

async fn get_version(
    State(shared): State<Arc<Shared>>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    let state = shared.lock();
    match resolve_version(&state, &subject, &version) {
        Ok((number, id)) => {
            let text = stored(&state, id)
                .map(|s| s.text.clone())
                .unwrap_or_default();
            reply(
                StatusCode::OK,
                json!({"subject": subject, "version": number, "id": id, "schema": text}),
            )
        }
        Err(response) => *response,
    }
}

async fn get_version_schema(
    State(shared): State<Arc<Shared>>,
    Path((subject, version)): Path<(String, String)>,
) -> Response {
    let state = shared.lock();
    match resolve_version(&state, &subject, &version) {
        Ok((_, id)) => {
            let text = stored(&state, id)
                .map(|s| s.text.clone())
                .unwrap_or_default();
            let mut response = (StatusCode::OK, text).into_response();
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(SCHEMA_REGISTRY_CONTENT_TYPE),
            );
            response
        }
        Err(response) => *response,
    }
}

async fn get_schema(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let state = shared.lock();
    match id.parse::<u32>().ok().and_then(|n| stored(&state, n)) {
        Some(s) => reply(StatusCode::OK, json!({"schema": s.text})),
        None => error(
            StatusCode::NOT_FOUND,
            40403,
            &format!("Schema {id} not found"),
        ),
    }
}

async fn check_compatibility(
    State(shared): State<Arc<Shared>>,
    Path((subject, version)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let candidate = match candidate(&body) {
        Ok(c) => c,
        Err(response) => return *response,
    };
    let state = shared.lock();
    let (number, id) = match resolve_version(&state, &subject, &version) {
        Ok(v) => v,
        Err(response) => return *response,
    };
    let level = level_of(&state, &subject);
    // Against the named version only (transitive levels mean nothing for one version).
    let single = match level {
        Compatibility::BackwardTransitive => Compatibility::Backward,
        Compatibility::ForwardTransitive => Compatibility::Forward,
        Compatibility::FullTransitive => Compatibility::Full,
        other => other,
    };
    let result = check_against(&state, &candidate, &[id], single);
    let mut body = json!({"is_compatible": result.is_ok()});
    if has_flag(&uri, "verbose") {
        let messages: Vec<String> = match &result {
            Ok(()) => Vec::new(),
            Err((_, e)) => vec![
                format!(
                    "{{errorType:'{}', description:'{}', additionalInfo:'{}'}}",
                    e.kind, e.description, e.additional_info
                ),
                format!("{{oldSchemaVersion: {number}}}"),
                format!("{{compatibility: '{}'}}", level.as_str()),
            ],
        };
        body["messages"] = json!(messages);
    }
    reply(StatusCode::OK, body)
}

async fn get_global_config(State(shared): State<Arc<Shared>>) -> Response {
    let state = shared.lock();
    let level = state.global.unwrap_or(Compatibility::Backward);
    reply(
        StatusCode::OK,
        json!({"compatibilityLevel": level.as_str()}),
    )
}

fn parse_level(body: &Bytes) -> Result<Compatibility, Box<Response>> {
    serde_json::from_slice::<Json>(body)
        .ok()
        .and_then(|b| {
            b.get("compatibility")
                .and_then(Json::as_str)
                .and_then(Compatibility::parse)
        })
        .ok_or_else(|| {
            boxed(
                StatusCode::UNPROCESSABLE_ENTITY,
                42203,
                "Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive",
            )
        })
}

async fn put_global_config(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match parse_level(&body) {
        Ok(level) => {
            shared.lock().global = Some(level);
            reply(StatusCode::OK, json!({"compatibility": level.as_str()}))
        }
        Err(response) => *response,
    }
}

async fn get_subject_config(
    State(shared): State<Arc<Shared>>,
    Path(subject): Path<String>,
    uri: Uri,
) -> Response {
    let state = shared.lock();
    match state.per_subject.get(&subject) {
        Some(level) => reply(
            StatusCode::OK,
            json!({"compatibilityLevel": level.as_str()}),
        ),
        None if has_flag(&uri, "defaultToGlobal") => {
            let level = state.global.unwrap_or(Compatibility::Backward);
            reply(
                StatusCode::OK,
                json!({"compatibilityLevel": level.as_str()}),
            )
        }
        None => error(
            StatusCode::NOT_FOUND,
            40408,
            &format!("Subject '{subject}' does not have subject-level compatibility configured"),
        ),
    }
}

async fn put_subject_config(
    State(shared): State<Arc<Shared>>,
    Path(subject): Path<String>,
    body: Bytes,
) -> Response {
    match parse_level(&body) {
        Ok(level) => {
            shared.lock().per_subject.insert(subject, level);
            reply(StatusCode::OK, json!({"compatibility": level.as_str()}))
        }
        Err(response) => *response,
    }
}

#[cfg(test)]
mod tests {
    //! Against the double over real HTTP, with a minimal blocking HTTP/1.1 client, so the tests
    //! see exactly the bytes a registry client sees.

    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;

    use super::*;

    struct Answer {
        status: u16,
        content_type: String,
        body: Json,
    }

    fn call(
        registry: &SchemaRegistry,
        method: &str,
        path: &str,
        body: Option<&Json>,
        auth: Option<&str>,
    ) -> Answer {
        let addr = registry.url().trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&addr).expect("connect to the double");
        let body = body.map(Json::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {SCHEMA_REGISTRY_CONTENT_TYPE}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(a) = auth {
            request.push_str(&format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(a)
            ));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).expect("send");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read");
        let (head, body) = raw.split_once("\r\n\r\n").expect("a full HTTP answer");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status");
        let content_type = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-type: ")
                    .map(str::to_string)
            })
            .unwrap_or_default();
        let body = serde_json::from_str(body).unwrap_or(Json::String(body.to_string()));
        Answer {
            status,
            content_type,
            body,
        }
    }

    fn schema_body(schema: &str) -> Json {
        json!({ "schema": schema })
    }

    const V1: &str = r#"{"type":"record","name":"Value","namespace":"db.public.t","fields":[{"name":"id","type":"int"}],"connect.name":"db.public.t.Value"}"#;
    const V2: &str = r#"{"type":"record","name":"Value","namespace":"db.public.t","fields":[{"name":"id","type":"int"},{"name":"note","type":["null","string"],"default":null}],"connect.name":"db.public.t.Value"}"#;
    const V3_BAD: &str = r#"{"type":"record","name":"Value","namespace":"db.public.t","fields":[{"name":"id","type":"int"},{"name":"note","type":["null","string"],"default":null},{"name":"must","type":"string"}],"connect.name":"db.public.t.Value"}"#;

    #[test]
    fn register_lookup_and_fetch() {
        let r = SchemaRegistry::start().expect("start");
        let a = call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(V1)),
            None,
        );
        assert_eq!((a.status, a.body.clone()), (200, json!({"id": 1})));
        assert_eq!(a.content_type, SCHEMA_REGISTRY_CONTENT_TYPE);
        // Identical re-registration: same id, no new version, whatever the key order.
        let reordered = r#"{"namespace":"db.public.t","name":"Value","type":"record","connect.name":"db.public.t.Value","fields":[{"type":"int","name":"id"}]}"#;
        let a = call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(reordered)),
            None,
        );
        assert_eq!(a.body, json!({"id": 1}));
        assert_eq!(r.versions("t-value"), vec![1]);
        // The same schema under another subject reuses the id.
        let a = call(
            &r,
            "POST",
            "/subjects/other-value/versions",
            Some(&schema_body(V1)),
            None,
        );
        assert_eq!(a.body, json!({"id": 1}));
        let a = call(&r, "GET", "/schemas/ids/1", None, None);
        assert_eq!(a.body, json!({"schema": V1}));
        let a = call(&r, "GET", "/subjects", None, None);
        assert_eq!(a.body, json!(["other-value", "t-value"]));
        let a = call(
            &r,
            "POST",
            "/subjects/t-value",
            Some(&schema_body(V1)),
            None,
        );
        assert_eq!(
            a.body,
            json!({"subject": "t-value", "version": 1, "id": 1, "schema": V1})
        );
        let a = call(
            &r,
            "GET",
            "/subjects/t-value/versions/latest/schema",
            None,
            None,
        );
        assert_eq!(a.body, serde_json::from_str::<Json>(V1).unwrap_or_default());
    }

    #[test]
    fn evolution_under_backward_compatibility() {
        let r = SchemaRegistry::start().expect("start");
        call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(V1)),
            None,
        );
        let a = call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(V2)),
            None,
        );
        assert_eq!(a.body, json!({"id": 2}));
        let a = call(&r, "GET", "/subjects/t-value/versions", None, None);
        assert_eq!(a.body, json!([1, 2]));
        let a = call(&r, "GET", "/subjects/t-value/versions/latest", None, None);
        assert_eq!(a.body["version"], json!(2));
        assert_eq!(a.body["id"], json!(2));
        // Re-registering an older version answers its id, without a new version.
        let a = call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(V1)),
            None,
        );
        assert_eq!(a.body, json!({"id": 1}));
        assert_eq!(r.versions("t-value"), vec![1, 2]);
        // A new required field cannot read old data.
        let a = call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(V3_BAD)),
            None,
        );
        assert_eq!(a.status, 409);
        assert_eq!(a.body["error_code"], json!(409));
        let message = a.body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("Schema being registered is incompatible with an earlier schema for subject \"t-value\""),
            "{message}"
        );
        assert!(
            message.contains("READER_FIELD_MISSING_DEFAULT_VALUE"),
            "{message}"
        );
        assert!(message.contains("{oldSchemaVersion: 2}"), "{message}");
        assert!(message.contains("{compatibility: 'BACKWARD'}"), "{message}");
        let a = call(
            &r,
            "POST",
            "/compatibility/subjects/t-value/versions/latest?verbose=true",
            Some(&schema_body(V3_BAD)),
            None,
        );
        assert_eq!(a.body["is_compatible"], json!(false));
        assert_eq!(a.body["messages"].as_array().map(Vec::len), Some(3));
        let a = call(
            &r,
            "POST",
            "/compatibility/subjects/t-value/versions/latest",
            Some(&schema_body(V2)),
            None,
        );
        assert_eq!(a.body, json!({"is_compatible": true}));
        // With NONE, anything goes.
        let a = call(
            &r,
            "PUT",
            "/config/t-value",
            Some(&json!({"compatibility": "NONE"})),
            None,
        );
        assert_eq!(a.body, json!({"compatibility": "NONE"}));
        let a = call(
            &r,
            "POST",
            "/subjects/t-value/versions",
            Some(&schema_body(V3_BAD)),
            None,
        );
        assert_eq!(a.body, json!({"id": 3}));
    }

    #[test]
    fn transitive_and_forward_levels() {
        let r = SchemaRegistry::start().expect("start");
        let rec = |fields: &str| format!(r#"{{"type":"record","name":"R","fields":[{fields}]}}"#);
        let a_int = rec(r#"{"name":"a","type":"int"}"#);
        let a_opt = rec(r#"{"name":"a","type":["null","int"],"default":null}"#);
        let none = rec("");
        // BACKWARD checks each step against the latest only: a(int) -> a(optional) -> no field.
        r.set_subject_compatibility("s", Some(Compatibility::Backward));
        for s in [&a_int, &a_opt, &none] {
            let a = call(
                &r,
                "POST",
                "/subjects/s/versions",
                Some(&schema_body(s)),
                None,
            );
            assert_eq!(a.status, 200, "{s}: {}", a.body);
        }
        let a = call(
            &r,
            "POST",
            "/subjects/s/versions",
            Some(&schema_body(&a_int)),
            None,
        );
        // `a_int` is version 1 already: re-registration is allowed without a check.
        assert_eq!(a.body, json!({"id": 1}));
        let b_int = rec(r#"{"name":"b","type":"int"}"#);
        r.set_subject_compatibility("s", Some(Compatibility::BackwardTransitive));
        let a = call(
            &r,
            "POST",
            "/subjects/s/versions",
            Some(&schema_body(&b_int)),
            None,
        );
        assert_eq!(
            a.status, 409,
            "b has no default: cannot read any old version"
        );
        // FORWARD: the old schema must read new data; removing a required field breaks it.
        r.set_subject_compatibility("f", Some(Compatibility::Forward));
        call(
            &r,
            "POST",
            "/subjects/f/versions",
            Some(&schema_body(&a_int)),
            None,
        );
        let a = call(
            &r,
            "POST",
            "/subjects/f/versions",
            Some(&schema_body(&none)),
            None,
        );
        assert_eq!(a.status, 409);
        let a = call(&r, "GET", "/config/f", None, None);
        assert_eq!(a.body, json!({"compatibilityLevel": "FORWARD"}));
        let a = call(&r, "GET", "/config/nobody", None, None);
        assert_eq!(a.body["error_code"], json!(40408));
        let a = call(&r, "GET", "/config/nobody?defaultToGlobal=true", None, None);
        assert_eq!(a.body, json!({"compatibilityLevel": "BACKWARD"}));
        let a = call(
            &r,
            "PUT",
            "/config",
            Some(&json!({"compatibility": "FULL"})),
            None,
        );
        assert_eq!(a.body, json!({"compatibility": "FULL"}));
        let a = call(&r, "GET", "/config", None, None);
        assert_eq!(a.body, json!({"compatibilityLevel": "FULL"}));
        let a = call(
            &r,
            "PUT",
            "/config",
            Some(&json!({"compatibility": "SIDEWAYS"})),
            None,
        );
        assert_eq!(
            (a.status, a.body["error_code"].clone()),
            (422, json!(42203))
        );
    }

    #[test]
    fn error_codes() {
        let r = SchemaRegistry::start().expect("start");
        let cases: Vec<(&str, &str, Option<Json>, u16, u32)> = vec![
            ("GET", "/subjects/nope/versions", None, 404, 40401),
            ("GET", "/subjects/nope/versions/1", None, 404, 40401),
            ("POST", "/subjects/nope", Some(schema_body(V1)), 404, 40401),
            ("GET", "/schemas/ids/7", None, 404, 40403),
            (
                "POST",
                "/subjects/t/versions",
                Some(schema_body("{\"type\":\"nope\"}")),
                422,
                42201,
            ),
            (
                "POST",
                "/subjects/t/versions",
                Some(schema_body("not json")),
                422,
                42201,
            ),
            (
                "POST",
                "/subjects/t/versions",
                Some(json!({"schema": V1, "schemaType": "PROTOBUF"})),
                422,
                42201,
            ),
        ];
        for (method, path, body, status, code) in cases {
            let a = call(&r, method, path, body.as_ref(), None);
            assert_eq!(
                (a.status, a.body["error_code"].clone()),
                (status, json!(code)),
                "{method} {path}: {}",
                a.body
            );
            assert!(a.body["message"].is_string());
        }
        call(
            &r,
            "POST",
            "/subjects/t/versions",
            Some(&schema_body(V1)),
            None,
        );
        let a = call(&r, "GET", "/subjects/t/versions/2", None, None);
        assert_eq!(
            (a.status, a.body["error_code"].clone()),
            (404, json!(40402))
        );
        let a = call(&r, "GET", "/subjects/t/versions/zero", None, None);
        assert_eq!(
            (a.status, a.body["error_code"].clone()),
            (422, json!(42202))
        );
        let a = call(&r, "POST", "/subjects/t", Some(&schema_body(V2)), None);
        assert_eq!(
            (a.status, a.body["error_code"].clone()),
            (404, json!(40403))
        );
        r.fail_requests(Some(InjectedFailure::backend_error()));
        let a = call(&r, "GET", "/subjects", None, None);
        assert_eq!(
            (a.status, a.body["error_code"].clone()),
            (500, json!(50001))
        );
        r.fail_requests(None);
        let a = call(&r, "GET", "/subjects", None, None);
        assert_eq!(a.status, 200);
    }

    #[test]
    fn basic_auth() {
        let r = SchemaRegistry::start_with(SchemaRegistryOptions {
            basic_auth: Some(("fred".into(), "s3cret".into())),
        })
        .expect("start");
        let a = call(&r, "GET", "/subjects", None, None);
        assert_eq!(
            (a.status, a.body.clone()),
            (401, json!({"error_code": 401, "message": "Unauthorized"}))
        );
        let a = call(&r, "GET", "/subjects", None, Some("fred:wrong"));
        assert_eq!(a.status, 401);
        let a = call(&r, "GET", "/subjects", None, Some("fred:s3cret"));
        assert_eq!((a.status, a.body), (200, json!([])));
        assert_eq!(r.request_count(), 3);
    }

    #[test]
    fn stops_on_drop() {
        let r = SchemaRegistry::start().expect("start");
        let addr = r.url().trim_start_matches("http://").to_string();
        assert!(TcpStream::connect(&addr).is_ok());
        drop(r);
        assert!(
            TcpStream::connect(&addr).is_err(),
            "the port is closed after drop"
        );
    }
}
