//! The command line, in Kafka Connect's shape: `sluice standalone WORKER CONNECTOR...`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Sluice: change data capture from database transaction logs into \
Debezium-compatible change events, driven like Kafka Connect.";

const STANDALONE_HELP: &str = "\
Runs one or more connectors in this process, like Kafka Connect's connect-standalone.

WORKER is a Java .properties file with Kafka Connect worker keys:
  sink                             file | stdout (default stdout)
  sink.file.path                   where the file sink appends, one JSON line per record:
                                   {\"topic\":…,\"key\":…,\"value\":…,\"headers\":{…}}
  offset.storage.file.filename     where source offsets are kept (replaced atomically); without it,
                                   offsets live in memory and a restart resumes from the slot
  offset.flush.interval.ms         how often acknowledged positions are committed (default 60000)
  key.converter / value.converter  org.apache.kafka.connect.json.JsonConverter (default) or
                                   org.apache.kafka.connect.storage.StringConverter
  key.converter.schemas.enable / value.converter.schemas.enable   true (default) | false
  listeners                        the Kafka Connect REST API (default http://127.0.0.1:8083;
                                   empty: no REST API, and a failed connector stops the worker)
  config.storage.file.filename     where connectors created through the REST API are kept
                                   (default: beside the offsets file, <offsets>.connectors.json)
  rest.basic.auth.credentials.file `user: password` lines: require HTTP basic auth

Each CONNECTOR file is Kafka Connect JSON ({\"name\":…,\"config\":{…}}) or Java properties, with
Debezium's own keys. connector.class = io.debezium.connector.postgresql.PostgresConnector (or
`postgres`); database.hostname/port/user/password/dbname/sslmode, topic.prefix, slot.name,
publication.name, publication.autocreate.mode, table.include.list / table.exclude.list,
column.include.list / column.exclude.list, schema.include.list, tombstones.on.delete,
skipped.operations, provide.transaction.metadata, decimal.handling.mode, binary.handling.mode,
time.precision.mode, interval.handling.mode, hstore.handling.mode, … (see the README).

An unknown key is a warning; an invalid value stops Sluice before it connects, naming the key and
the allowed values. SIGTERM or SIGINT: deliver what is in flight, commit offsets, exit 0.
Exit codes: 0 stopped cleanly, 1 a connector failed (without a REST API), 2 invalid
configuration.";

#[derive(Debug, Parser)]
#[command(name = "sluice", version, about = ABOUT, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run connectors in this process (like Kafka Connect's connect-standalone).
    #[command(long_about = STANDALONE_HELP)]
    Standalone {
        /// Worker properties file.
        worker: PathBuf,
        /// Connector files (JSON or .properties); more can be created through the REST API.
        connectors: Vec<PathBuf>,
    },
    /// Start a throwaway Postgres, stream a few changes into the file sink and print them.
    Demo {
        /// Where the demo writes its events.
        #[arg(long, default_value = "sluice-demo-events.jsonl")]
        out: PathBuf,
        /// Keep streaming after the demo changes (stop with Ctrl-C); prints the server's URL.
        #[arg(long)]
        follow: bool,
    },
    /// Check connector files without connecting; prints every invalid key.
    Validate {
        /// Connector files (JSON or .properties).
        #[arg(required = true)]
        connectors: Vec<PathBuf>,
    },
}
