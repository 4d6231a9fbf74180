//! The real `sluice` binary as a child process: write a worker and a connector `.properties`
//! into a temp dir, run `sluice standalone worker.properties connector.properties`, and kill it,
//! stop it with SIGTERM, or wait for it. Standard error goes to a file (`stderr_text`) so a
//! failing test can show what the service said. Peak memory is tracked twice: `VmHWM` from
//! `/proc/<pid>/status`, polled while the process runs, and `ru_maxrss` from `wait4` when it is
//! reaped (exact).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_testcontainers::PgServer;

/// How long `sigterm_and_wait` gives the process to deliver, commit and exit.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running (or finished) `sluice` process. Dropping it kills it (SIGKILL) and reaps it.
pub struct SluiceProcess {
    child: Child,
    /// Holds worker.properties, connector.properties and stderr.log.
    dir: tempfile::TempDir,
    stderr_path: PathBuf,
    /// Set once the process has been reaped (never signal a pid after that: it may be reused).
    status: Option<ExitStatus>,
    /// `ru_maxrss` from `wait4` in KiB, once reaped.
    maxrss_kb: Option<u64>,
    /// Highest `VmHWM` seen by the poller, KiB.
    hwm_kb: Arc<AtomicU64>,
    poll_stop: Arc<AtomicBool>,
    poller: Option<std::thread::JoinHandle<()>>,
}

/// `key=value` lines (values as they are: the tests' values need no escaping beyond `\`).
fn write_properties(path: &Path, map: &BTreeMap<String, String>) {
    let mut text = String::new();
    for (k, v) in map {
        text.push_str(k);
        text.push('=');
        text.push_str(&v.replace('\\', "\\\\"));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `VmHWM` of `pid` in KiB, while it runs.
pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

impl SluiceProcess {
    /// Spawn `sluice standalone` with these properties (`RUST_LOG` defaults to `info`).
    pub fn spawn(
        worker: &BTreeMap<String, String>,
        connector: &BTreeMap<String, String>,
    ) -> SluiceProcess {
        Self::spawn_many(worker, std::slice::from_ref(connector))
    }

    /// Spawn `sluice standalone` with any number of connector files (none: REST API only).
    pub fn spawn_many(
        worker: &BTreeMap<String, String>,
        connectors: &[BTreeMap<String, String>],
    ) -> SluiceProcess {
        let dir = tempfile::Builder::new()
            .prefix("sluice-proc-")
            .tempdir()
            .expect("temp dir for the sluice process");
        let worker_path = dir.path().join("worker.properties");
        write_properties(&worker_path, worker);
        let mut connector_paths = Vec::new();
        for (i, connector) in connectors.iter().enumerate() {
            let path = dir.path().join(format!("connector-{i}.properties"));
            write_properties(&path, connector);
            connector_paths.push(path);
        }
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create stderr.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command
            .arg("standalone")
            .arg(&worker_path)
            .args(&connector_paths)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "info");
        }
        let child = command.spawn().expect("spawn the sluice binary");
        let pid = child.id();
        let hwm_kb = Arc::new(AtomicU64::new(0));
        let poll_stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let hwm_kb = hwm_kb.clone();
            let poll_stop = poll_stop.clone();
            std::thread::Builder::new()
                .name(format!("hwm-{pid}"))
                .spawn(move || {
                    while !poll_stop.load(Ordering::Relaxed) {
                        match vm_hwm_kb(pid) {
                            Some(kb) => {
                                hwm_kb.fetch_max(kb, Ordering::Relaxed);
                            }
                            None => break,
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
                .ok()
        };
        SluiceProcess {
            child,
            dir,
            stderr_path,
            status: None,
            maxrss_kb: None,
            hwm_kb,
            poll_stop,
            poller,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The temp dir holding the properties files and stderr.log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Everything the process wrote to standard error so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Whether the process has not exited yet (reaps it if it has).
    pub fn is_running(&mut self) -> bool {
        self.try_reap();
        self.status.is_none()
    }

    /// The exit status once the process has been reaped.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// Peak resident set size in bytes: `ru_maxrss` once reaped, else the highest `VmHWM`
    /// polled so far (the max of both when both are known).
    pub fn peak_rss_bytes(&mut self) -> u64 {
        if self.status.is_none() {
            if let Some(kb) = vm_hwm_kb(self.pid()) {
                self.hwm_kb.fetch_max(kb, Ordering::Relaxed);
            }
        }
        let polled = self.hwm_kb.load(Ordering::Relaxed);
        polled.max(self.maxrss_kb.unwrap_or(0)) * 1024
    }

    /// SIGKILL, then reap.
    pub fn kill9(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
        }
        self.wait_exit(Duration::from_secs(30))
            .unwrap_or_else(|| panic!("sluice (pid {}) did not die after SIGKILL", self.pid()));
    }

    /// SIGTERM, then wait for the exit (panics with stderr after [`STOP_TIMEOUT`]).
    pub fn sigterm_and_wait(&mut self) -> ExitStatus {
        self.sigterm();
        match self.wait_exit(STOP_TIMEOUT) {
            Some(status) => status,
            None => panic!(
                "sluice (pid {}) did not exit within {STOP_TIMEOUT:?} of SIGTERM; stderr:\n{}",
                self.pid(),
                self.stderr_text()
            ),
        }
    }

    /// Send SIGTERM (no wait).
    pub fn sigterm(&mut self) {
        if self.status.is_none() {
            signal(self.pid(), libc::SIGTERM);
        }
    }

    /// Wait up to `timeout` for the process to exit; its status, or `None` if it still runs.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        loop {
            self.try_reap();
            if self.status.is_some() || started.elapsed() >= timeout {
                return self.status;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn try_reap(&mut self) {
        if self.status.is_some() {
            return;
        }
        if let Some((status, maxrss_kb)) = wait4_nohang(self.pid()) {
            self.status = Some(status);
            self.maxrss_kb = Some(maxrss_kb);
            self.poll_stop.store(true, Ordering::Relaxed);
            if let Some(poller) = self.poller.take() {
                let _ = poller.join();
            }
        }
    }
}

impl Drop for SluiceProcess {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.wait_exit(Duration::from_secs(10));
        }
        self.poll_stop.store(true, Ordering::Relaxed);
    }
}

/// Send `sig` to `pid` (a child we have not reaped yet).
#[allow(unsafe_code)]
fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}) failed: {}",
        std::io::Error::last_os_error()
    );
}

/// Reap `pid` if it has exited: its status and `ru_maxrss` (KiB on Linux).
#[allow(unsafe_code)]
fn wait4_nohang(pid: u32) -> Option<(ExitStatus, u64)> {
    use std::os::unix::process::ExitStatusExt as _;
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point to live, writable locals of the right types.
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, libc::WNOHANG, &mut usage) };
    (rc == pid as libc::pid_t).then(|| {
        (
            ExitStatus::from_raw(status),
            u64::try_from(usage.ru_maxrss).unwrap_or(0),
        )
    })
}

/// A Postgres connector for `db` on `server`: slot, publication (`filtered`, every table of
/// the database), topic prefix (also the connector name), streaming only (`no_data`).
pub fn pg_connector_props(
    server: &PgServer,
    db: &str,
    slot: &str,
    publication: &str,
    prefix: &str,
) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("name", prefix.to_string()),
        (
            "connector.class",
            "io.debezium.connector.postgresql.PostgresConnector".to_string(),
        ),
        ("database.hostname", server.host().to_string()),
        ("database.port", server.port().to_string()),
        ("database.user", server.user().to_string()),
        ("database.password", server.password().to_string()),
        ("database.dbname", db.to_string()),
        ("database.sslmode", "disable".to_string()),
        ("topic.prefix", prefix.to_string()),
        ("plugin.name", "pgoutput".to_string()),
        ("slot.name", slot.to_string()),
        ("publication.name", publication.to_string()),
        ("publication.autocreate.mode", "filtered".to_string()),
        ("snapshot.mode", "no_data".to_string()),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// A worker writing JSON lines to `dir/events.jsonl` with offsets in `dir/offsets.dat`
/// (see [`events_path`], [`offsets_path`]); `schemas` embeds the Connect schema in each record.
pub fn file_worker_props(dir: &Path, schemas: bool) -> BTreeMap<String, String> {
    let schemas = schemas.to_string();
    let mut m = BTreeMap::new();
    for (k, v) in [
        ("sink", "file".to_string()),
        ("sink.file.path", events_path(dir).display().to_string()),
        (
            "offset.storage.file.filename",
            offsets_path(dir).display().to_string(),
        ),
        ("offset.flush.interval.ms", "200".to_string()),
        (
            "key.converter",
            "org.apache.kafka.connect.json.JsonConverter".to_string(),
        ),
        (
            "value.converter",
            "org.apache.kafka.connect.json.JsonConverter".to_string(),
        ),
        ("key.converter.schemas.enable", schemas.clone()),
        ("value.converter.schemas.enable", schemas),
        // No REST API: a failed connector ends the process, which is what these tests watch.
        ("listeners", String::new()),
    ] {
        m.insert(k.to_string(), v);
    }
    m
}

/// The sink file of [`file_worker_props`].
pub fn events_path(dir: &Path) -> PathBuf {
    dir.join("events.jsonl")
}

/// The offset file of [`file_worker_props`].
pub fn offsets_path(dir: &Path) -> PathBuf {
    dir.join("offsets.dat")
}
