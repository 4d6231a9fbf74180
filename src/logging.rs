//! Logging: tracing to stderr with a filter that `/admin/loggers` can change at runtime.
//!
//! Logger names are tracing targets (`sluice`, `sluice::postgres`, ...) plus `root` for the
//! default level; Connect's Java logger names (`io.debezium...`, `org.apache.kafka...`) are
//! accepted too and map to `sluice`'s own, since there is no other code to log from.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use sluice::rest::LogControl;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{reload, EnvFilter, Registry};

const LEVELS: &[&str] = &["OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

struct Levels {
    handle: reload::Handle<EnvFilter, Registry>,
    /// `root` and explicitly set loggers, upper-case levels as Connect reports them.
    levels: Mutex<BTreeMap<String, String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The tracing target a logger name stands for.
fn target(logger: &str) -> String {
    if logger.starts_with("io.debezium") || logger.starts_with("org.apache.kafka") {
        return "sluice".into();
    }
    logger.replace('.', "::")
}

impl Levels {
    fn filter(levels: &BTreeMap<String, String>) -> Result<EnvFilter, String> {
        let mut directives = Vec::new();
        for (logger, level) in levels {
            let level = level.to_ascii_lowercase();
            if logger == "root" {
                directives.insert(0, level);
            } else {
                directives.push(format!("{}={level}", target(logger)));
            }
        }
        EnvFilter::try_new(directives.join(",")).map_err(|e| e.to_string())
    }
}

impl LogControl for Levels {
    fn levels(&self) -> BTreeMap<String, String> {
        lock(&self.levels).clone()
    }

    fn set(&self, logger: &str, level: &str) -> Result<Vec<String>, String> {
        let level = level.to_ascii_uppercase();
        if !LEVELS.contains(&level.as_str()) {
            return Err(format!(
                "Invalid log level '{level}': expected one of {}",
                LEVELS.join(", ")
            ));
        }
        if logger.is_empty() || logger.contains(|c: char| c.is_whitespace() || c == ',' || c == '=')
        {
            return Err(format!("invalid logger name \"{logger}\""));
        }
        let mut levels = lock(&self.levels);
        let mut next = levels.clone();
        next.insert(logger.to_string(), level);
        let filter = Levels::filter(&next)?;
        self.handle
            .reload(filter)
            .map_err(|e| format!("cannot change log levels: {e}"))?;
        *levels = next;
        // Loggers below the changed one follow it unless set themselves.
        let prefix = format!("{logger}.");
        Ok(levels
            .keys()
            .filter(|k| *k == logger || k.starts_with(&prefix) || logger == "root")
            .cloned()
            .collect())
    }
}

/// Install the subscriber: `RUST_LOG` when set (its directives become `root`), else INFO.
pub fn init() -> Arc<dyn LogControl> {
    let initial = std::env::var("RUST_LOG")
        .ok()
        .filter(|s| !s.trim().is_empty());
    let filter = initial
        .as_deref()
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // No colour codes in log files and journals.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .init();
    let mut levels = BTreeMap::new();
    let root = match initial {
        Some(s) if LEVELS.contains(&s.trim().to_ascii_uppercase().as_str()) => {
            s.trim().to_ascii_uppercase()
        }
        Some(_) => "INFO".to_string(),
        None => "INFO".to_string(),
    };
    levels.insert("root".to_string(), root);
    Arc::new(Levels {
        handle,
        levels: Mutex::new(levels),
    })
}
