//! Kafka for tests: [`KafkaBroker`], a throwaway [tansu](https://crates.io/crates/tansu)
//! broker run as a local process (or the broker named by `SLUICE_TEST_KAFKA_BOOTSTRAP`);
//! [`MockKafka`], librdkafka's in-process mock cluster, for what tansu cannot do
//! (transactions, taking brokers down and up, injected request errors); and
//! [`read_topic`], which reads a topic back whole.
//!
//! ```text
//! KafkaBroker::start() --> $SLUICE_TEST_KAFKA_BOOTSTRAP set? --yes--> use it
//!     | no
//!     v
//! find tansu ($SLUICE_TANSU_BIN, PATH, ~/.cargo/bin) --> temp dir (tansu.log)
//!     --> tansu broker --listener-url tcp://127.0.0.1:<free port> --storage-engine memory://
//!     --> poll a TCP connection until it is accepted (milliseconds)
//! drop(KafkaBroker) --> kill --> reap --> remove the temp dir
//! ```
//!
//! What tansu 0.6 (`--features dynostore`) does and does not do, as far as these tests rely
//! on it: produce (idempotent too), fetch, metadata, CreateTopics and consumer groups work;
//! topics are never auto-created (create them with [`KafkaBroker::create_topic`] or through
//! the sink's topic creation); transactions do not work (EndTxn is unsupported), so
//! transactional tests use [`MockKafka`]. Its `memory://` storage lives in the broker
//! process: [`KafkaBroker::stop`] then [`KafkaBroker::start_again`] gives an *empty* broker
//! on the same port (no topics, no records). The only persistent engines tansu has are
//! `s3://` (needs an S3 service), `sqlite://` (tansu built with `--features libsql`) and
//! `postgres://` (`--features postgres`); the tansu installed for these tests has none of
//! them, so broker-outage tests that must lose nothing run on [`MockKafka`].

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{Offset, TopicPartitionList};
use tempfile::TempDir;

use crate::local::{lock, pick_port};
use crate::Error;

/// Env var with the `bootstrap.servers` of a running broker that [`KafkaBroker::start`] uses
/// instead of spawning tansu, e.g. `127.0.0.1:9092`.
pub const KAFKA_BOOTSTRAP_ENV: &str = "SLUICE_TEST_KAFKA_BOOTSTRAP";
/// Env var with the path of the `tansu` binary; wins over the search.
pub const TANSU_BIN_ENV: &str = "SLUICE_TANSU_BIN";
/// How to install the tansu version these fixtures are written for.
pub const TANSU_INSTALL: &str = "cargo install tansu --version 0.6.0 --features dynostore --locked";

/// How long a start may take before it is reported as hung (tansu starts in milliseconds;
/// generous for a loaded 2-core machine).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Interval between readiness checks (a poll on a condition, not a wait for time).
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Start attempts on fresh ports when another process took the one we picked.
const PORT_ATTEMPTS: u32 = 10;
/// Lines of the broker log put into start errors.
const LOG_TAIL_LINES: usize = 40;
/// How long admin requests and reads in these helpers may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A Kafka broker for one test (or a few): a throwaway tansu process, or the running broker
/// named by [`KAFKA_BOOTSTRAP_ENV`]. Give each test its own topics
/// ([`KafkaBroker::unique_topic`]) so tests can share a broker and run in parallel.
pub struct KafkaBroker {
    bootstrap: String,
    local: Option<LocalTansu>,
}

struct LocalTansu {
    binary: PathBuf,
    port: u16,
    log_path: PathBuf,
    /// The broker; `None` while stopped.
    child: Mutex<Option<Child>>,
    /// Last field: removed after the broker is stopped.
    _temp: TempDir,
}

impl KafkaBroker {
    /// The broker named by `SLUICE_TEST_KAFKA_BOOTSTRAP` if set, else a new tansu broker with
    /// in-memory storage. Blocking (milliseconds); fine to call in async tests.
    pub fn start() -> Result<KafkaBroker, Error> {
        if let Some(bootstrap) = std::env::var(KAFKA_BOOTSTRAP_ENV)
            .ok()
            .map(|b| b.trim().to_string())
            .filter(|b| !b.is_empty())
        {
            return Ok(KafkaBroker {
                bootstrap,
                local: None,
            });
        }
        let binary = find_tansu()?;
        let temp = tempfile::Builder::new()
            .prefix("sluice-tansu-")
            .tempdir()
            .map_err(|source| Error::Io {
                action: "create a temp dir for tansu in",
                path: std::env::temp_dir(),
                source,
            })?;
        let log_path = temp.path().join("tansu.log");
        let mut last_tail = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port()?;
            match spawn_tansu(&binary, port, &log_path) {
                Ok(child) => {
                    return Ok(KafkaBroker {
                        bootstrap: format!("127.0.0.1:{port}"),
                        local: Some(LocalTansu {
                            binary,
                            port,
                            log_path,
                            child: Mutex::new(Some(child)),
                            _temp: temp,
                        }),
                    })
                }
                // Lost the race for the port (or a flaky start): try another one.
                Err(Error::KafkaExited { log_tail, .. }) => last_tail = log_tail,
                Err(other) => return Err(other),
            }
        }
        Err(Error::NoFreePort {
            attempts: PORT_ATTEMPTS,
            log_tail: last_tail,
        })
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Whether this is a running broker named by [`KAFKA_BOOTSTRAP_ENV`].
    pub fn is_external(&self) -> bool {
        self.local.is_none()
    }

    /// A topic name no other test uses: `prefix` reduced to `[a-z0-9_]` plus pid, counter
    /// and random part (valid for Kafka and unique on a shared external broker).
    pub fn unique_topic(prefix: &str) -> String {
        crate::names::unique_name(prefix)
    }

    /// Creates `topic` with `partitions` partitions (replication factor 1), waiting until the
    /// broker reports it. Tansu does not auto-create topics.
    pub async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), Error> {
        create_topic(&self.bootstrap, topic, partitions).await
    }

    /// Kills the broker (no clean shutdown needed for memory storage) and waits until it
    /// has exited. With memory storage everything is lost: see the module docs. Stopping a
    /// stopped broker is a no-op.
    pub fn stop(&self) -> Result<(), Error> {
        let local = self.local_or_unsupported("stop")?;
        let mut child = lock(&local.child);
        if let Some(mut running) = child.take() {
            kill(&mut running, &local.log_path)?;
        }
        Ok(())
    }

    /// Starts a stopped broker again on the same port, waiting until it accepts connections.
    /// It starts empty (memory storage). A no-op while it runs.
    pub fn start_again(&self) -> Result<(), Error> {
        let local = self.local_or_unsupported("start_again")?;
        let mut child = lock(&local.child);
        if let Some(running) = child.as_mut() {
            if running.try_wait().ok().flatten().is_none() {
                return Ok(());
            }
        }
        *child = None;
        *child = Some(spawn_tansu(&local.binary, local.port, &local.log_path)?);
        Ok(())
    }

    /// Freezes the broker process (SIGSTOP): it keeps its data and its port, but answers
    /// nothing until [`KafkaBroker::resume`], like a broker that hangs or a network that
    /// drops every packet. Unlike [`KafkaBroker::stop`], nothing is lost.
    pub fn pause(&self) -> Result<(), Error> {
        self.signal("pause", "-STOP")
    }

    /// Lets a paused broker run again (SIGCONT).
    pub fn resume(&self) -> Result<(), Error> {
        self.signal("resume", "-CONT")
    }

    /// Sends `signal` to the broker with kill(1) (the crate has no unsafe code).
    fn signal(&self, operation: &'static str, signal: &str) -> Result<(), Error> {
        let local = self.local_or_unsupported(operation)?;
        let child = lock(&local.child);
        if let Some(running) = child.as_ref() {
            let status = Command::new("kill")
                .arg(signal)
                .arg(running.id().to_string())
                .status();
            let failure = match status {
                Ok(s) if s.success() => None,
                Ok(s) => Some(std::io::Error::other(format!(
                    "kill {signal} exited with {s}"
                ))),
                Err(e) => Some(e),
            };
            if let Some(source) = failure {
                return Err(Error::Io {
                    action: "signal the broker process",
                    path: local.log_path.clone(),
                    source,
                });
            }
        }
        Ok(())
    }

    /// The broker's log (tansu's stdout and stderr), for debugging a failed test.
    pub fn log_path(&self) -> Option<&Path> {
        self.local.as_ref().map(|l| l.log_path.as_path())
    }

    fn local_or_unsupported(&self, operation: &'static str) -> Result<&LocalTansu, Error> {
        self.local
            .as_ref()
            .ok_or(Error::KafkaUnsupportedExternal { operation })
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        if let Some(local) = &self.local {
            if let Some(mut child) = lock(&local.child).take() {
                if let Err(error) = kill(&mut child, &local.log_path) {
                    tracing::warn!(%error, "could not stop the test kafka broker");
                }
            }
        }
    }
}

/// `$SLUICE_TANSU_BIN`, then `tansu` on `PATH`, then `$CARGO_HOME/bin` and `~/.cargo/bin`.
fn find_tansu() -> Result<PathBuf, Error> {
    let from_env = std::env::var_os(TANSU_BIN_ENV).map(PathBuf::from);
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("tansu"));
    let from_cargo_home =
        std::env::var_os("CARGO_HOME").map(|h| PathBuf::from(h).join("bin/tansu"));
    let from_home = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tansu"));
    from_env
        .into_iter()
        .chain(from_path)
        .chain(from_cargo_home)
        .chain(from_home)
        .find(|p| p.is_file())
        .ok_or(Error::TansuNotFound)
}

fn free_port() -> Result<u16, Error> {
    pick_port().map_err(|source| Error::Io {
        action: "bind a free port on",
        path: PathBuf::from("127.0.0.1"),
        source,
    })
}

/// Starts `tansu broker` on `port` and waits until it accepts TCP connections.
fn spawn_tansu(binary: &Path, port: u16, log_path: &Path) -> Result<Child, Error> {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|source| Error::Io {
            action: "open",
            path: log_path.to_path_buf(),
            source,
        })?;
    let log_err = log.try_clone().map_err(|source| Error::Io {
        action: "open",
        path: log_path.to_path_buf(),
        source,
    })?;
    let url = format!("tcp://127.0.0.1:{port}");
    let mut child = Command::new(binary)
        .arg("broker")
        .args(["--listener-url", &url])
        .args(["--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"])
        // Settings tansu would otherwise read from the environment of the test run.
        .env_remove("SCHEMA_REGISTRY")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("DATA_LAKE")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|source| Error::Io {
            action: "start",
            path: binary.to_path_buf(),
            source,
        })?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|source| Error::Io {
            action: "wait for",
            path: binary.to_path_buf(),
            source,
        })? {
            return Err(Error::KafkaExited {
                port,
                status,
                log_tail: log_tail(log_path),
            });
        }
        if TcpStream::connect_timeout(&addr, POLL_INTERVAL).is_ok() {
            return Ok(child);
        }
        if started.elapsed() > READY_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::KafkaStartTimeout {
                port,
                timeout_s: READY_TIMEOUT.as_secs(),
                log_tail: log_tail(log_path),
            });
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

fn kill(child: &mut Child, log_path: &Path) -> Result<(), Error> {
    // Already exited is fine; reap it either way.
    let _ = child.kill();
    child.wait().map(|_| ()).map_err(|source| Error::Io {
        action: "wait for the tansu broker logging to",
        path: log_path.to_path_buf(),
        source,
    })
}

/// The last lines of a log file (empty if it cannot be read).
fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
        let mut bytes = Vec::new();
        let _ = file.read_to_end(&mut bytes);
        text = String::from_utf8_lossy(&bytes).into_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
}

fn kafka_error(action: String, bootstrap: &str) -> impl FnOnce(KafkaError) -> Error + '_ {
    move |source| Error::Kafka {
        action,
        bootstrap: bootstrap.to_string(),
        source: Box::new(source),
    }
}

/// Creates `topic` (replication factor 1) on the cluster at `bootstrap` and waits until its
/// metadata shows every partition. An existing topic is fine.
pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> Result<(), Error> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .map_err(kafka_error("create an admin client".into(), bootstrap))?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(REQUEST_TIMEOUT));
    let results = admin
        .create_topics([&new_topic], &options)
        .await
        .map_err(kafka_error(format!("create topic {topic}"), bootstrap))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(Error::Kafka {
                    action: format!("create topic {topic}"),
                    bootstrap: bootstrap.to_string(),
                    source: Box::new(KafkaError::AdminOp(code)),
                })
            }
        }
    }
    let expected = usize::try_from(partitions).unwrap_or(0);
    let started = Instant::now();
    loop {
        if partition_count(bootstrap, topic)? >= expected.max(1) {
            return Ok(());
        }
        if started.elapsed() > REQUEST_TIMEOUT {
            return Err(Error::Kafka {
                action: format!("see topic {topic} in the metadata after creating it"),
                bootstrap: bootstrap.to_string(),
                source: Box::new(KafkaError::MetadataFetch(
                    RDKafkaErrorCode::UnknownTopicOrPartition,
                )),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Partitions of `topic` in the cluster's metadata (0 when it does not exist).
pub fn partition_count(bootstrap: &str, topic: &str) -> Result<usize, Error> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("allow.auto.create.topics", "false")
        .create()
        .map_err(kafka_error("create a metadata client".into(), bootstrap))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(kafka_error(
            format!("fetch the metadata of topic {topic}"),
            bootstrap,
        ))?;
    Ok(metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len()))
}

/// One record read back from a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    pub timestamp_ms: Option<i64>,
}

/// Which records a read sees (`isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
}

static READER_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Reads `topic` from the beginning of every partition until at least `expected` records
/// arrived and every partition is at its end, so a duplicate or an extra record is caught
/// too: the result must hold exactly `expected` records. Records come back in partition,
/// then offset, order.
///
/// Fails (with the count read) when the records do not all arrive within 30 seconds or
/// there are more than `expected`.
pub async fn read_topic(
    bootstrap: &str,
    topic: &str,
    expected: usize,
    isolation: Isolation,
) -> Result<Vec<ReadRecord>, Error> {
    // A topic created a moment ago may not be in every broker's metadata yet.
    let metadata_deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    let partitions = loop {
        let n = partition_count(bootstrap, topic)?;
        if n > 0 || tokio::time::Instant::now() >= metadata_deadline {
            break n;
        }
        tokio::time::sleep(POLL_INTERVAL * 10).await;
    };
    let group = format!(
        "sluice-test-reader-{}-{}",
        std::process::id(),
        READER_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        // End-of-partition events tell when everything there is has been read (tansu 0.6
        // reports a wrong high watermark, so counting offsets would not do).
        .set("enable.partition.eof", "true")
        .set(
            "isolation.level",
            match isolation {
                Isolation::ReadCommitted => "read_committed",
                Isolation::ReadUncommitted => "read_uncommitted",
            },
        )
        .create()
        .map_err(kafka_error("create a consumer".into(), bootstrap))?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        let p = i32::try_from(p).unwrap_or(i32::MAX);
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .map_err(kafka_error(format!("assign topic {topic}"), bootstrap))?;
    }
    consumer
        .assign(&assignment)
        .map_err(kafka_error(format!("assign topic {topic}"), bootstrap))?;
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    let mut at_end = vec![false; partitions];
    let mut records = Vec::with_capacity(expected);
    while records.len() < expected || at_end.iter().any(|e| !e) {
        let message = match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Ok(Ok(m)) => m,
            Ok(Err(KafkaError::PartitionEOF(p))) => {
                if let Some(end) = usize::try_from(p).ok().and_then(|p| at_end.get_mut(p)) {
                    *end = true;
                }
                continue;
            }
            Ok(Err(source)) => {
                return Err(Error::Kafka {
                    action: format!("read topic {topic}"),
                    bootstrap: bootstrap.to_string(),
                    source: Box::new(source),
                })
            }
            Err(_) => {
                return Err(Error::KafkaRead {
                    topic: topic.to_string(),
                    expected,
                    got: records.len(),
                })
            }
        };
        if let Some(end) = usize::try_from(message.partition())
            .ok()
            .and_then(|p| at_end.get_mut(p))
        {
            *end = false;
        }
        records.push(ReadRecord {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers: message
                .headers()
                .map(|h| {
                    h.iter()
                        .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                        .collect()
                })
                .unwrap_or_default(),
            timestamp_ms: message.timestamp().to_millis(),
        });
    }
    if records.len() != expected {
        return Err(Error::KafkaRead {
            topic: topic.to_string(),
            expected,
            got: records.len(),
        });
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

/// librdkafka's in-process mock cluster (brokers with ids `1..=n` on loopback ports). It
/// supports idempotent and transactional producers, taking brokers down and up, slowing
/// them, and injecting request errors. It does not implement transaction markers: a
/// `read_committed` consumer sees the records of aborted transactions too, so what aborts
/// hide can only be checked on a real broker.
///
/// Not `Send`: create and drive it from the test's own task (the sink under test may run in
/// spawned tasks).
pub struct MockKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
    brokers: i32,
}

impl MockKafka {
    /// A cluster of `brokers` brokers.
    pub fn start(brokers: i32) -> Result<MockKafka, Error> {
        let cluster = MockCluster::new(brokers).map_err(|source| Error::Kafka {
            action: format!("start a mock cluster of {brokers} brokers"),
            bootstrap: "(mock)".into(),
            source: Box::new(source),
        })?;
        Ok(MockKafka { cluster, brokers })
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }

    /// Creates `topic` with `partitions` partitions on every broker (replication factor =
    /// broker count).
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), Error> {
        self.cluster
            .create_topic(topic, partitions, self.brokers)
            .map_err(|source| Error::Kafka {
                action: format!("create mock topic {topic}"),
                bootstrap: self.bootstrap_servers(),
                source: Box::new(source),
            })
    }

    /// Disconnects broker `id` and refuses new connections to it (no leader change).
    pub fn broker_down(&self, id: i32) -> Result<(), Error> {
        self.cluster.broker_down(id).map_err(|source| Error::Kafka {
            action: format!("take mock broker {id} down"),
            bootstrap: self.bootstrap_servers(),
            source: Box::new(source),
        })
    }

    /// Lets broker `id` accept connections again.
    pub fn broker_up(&self, id: i32) -> Result<(), Error> {
        self.cluster.broker_up(id).map_err(|source| Error::Kafka {
            action: format!("bring mock broker {id} up"),
            bootstrap: self.bootstrap_servers(),
            source: Box::new(source),
        })
    }

    /// Takes every broker down.
    pub fn all_down(&self) -> Result<(), Error> {
        (1..=self.brokers).try_for_each(|id| self.broker_down(id))
    }

    /// Brings every broker up.
    pub fn all_up(&self) -> Result<(), Error> {
        (1..=self.brokers).try_for_each(|id| self.broker_up(id))
    }

    /// The next requests of kind `api` fail with `errors`, one per request, in order.
    pub fn fail_requests(&self, api: RDKafkaApiKey, errors: &[RDKafkaRespErr]) {
        self.cluster.request_errors(api, errors);
    }

    /// The cluster itself, for anything else.
    pub fn cluster(&self) -> &MockCluster<'static, DefaultProducerContext> {
        &self.cluster
    }
}
