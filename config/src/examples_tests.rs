//! The shipped example files and the shared Debezium conformance configs must load cleanly.

use std::path::{Path, PathBuf};

use crate::jdbc::{JdbcDatabase, JdbcMode, JdbcSourceConfig};
use crate::{
    load_connector_file, load_worker_file, ConnectorConfig, ConverterClass,
    PostgresConnectorConfig, PublicationAutocreateMode, SinkKind, WorkerConfig,
};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn postgres(path: &Path) -> PostgresConnectorConfig {
    let file = load_connector_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (config, warnings) = ConnectorConfig::from_map(&file.config)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(warnings.is_empty(), "{}: {warnings:?}", path.display());
    let ConnectorConfig::Postgres(config) = config else {
        panic!("{}: not a Postgres connector", path.display());
    };
    assert_eq!(config.name, file.name);
    config
}

fn jdbc(path: &Path) -> JdbcSourceConfig {
    let file = load_connector_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (config, warnings) = ConnectorConfig::from_map(&file.config)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(warnings.is_empty(), "{}: {warnings:?}", path.display());
    let ConnectorConfig::Jdbc(config) = config else {
        panic!("{}: not a JDBC source connector", path.display());
    };
    assert_eq!(config.name, file.name);
    config
}

#[test]
fn every_example_file_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).expect("examples dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.starts_with("worker") {
            let map = load_worker_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let (_, warnings) =
                WorkerConfig::from_map(&map).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
        } else if name.starts_with("jdbc") {
            jdbc(&path);
        } else {
            postgres(&path);
        }
        seen += 1;
    }
    assert_eq!(seen, 5);
}

#[test]
fn example_contents() {
    let dir = examples_dir();
    let map = load_worker_file(&dir.join("worker.properties")).expect("worker");
    let (w, _) = WorkerConfig::from_map(&map).expect("valid");
    assert_eq!(w.sink, SinkKind::File);
    assert_eq!(
        w.sink_file_path,
        Some(PathBuf::from("/tmp/sluice-events.jsonl"))
    );
    assert_eq!(
        w.offset_storage_file_filename,
        Some(PathBuf::from("/tmp/sluice-offsets.dat"))
    );
    assert_eq!(w.value_converter, ConverterClass::Json);
    assert!(w.key_converter_schemas_enable && w.value_converter_schemas_enable);

    let map = load_worker_file(&dir.join("worker-stdout.properties")).expect("worker");
    let (w, _) = WorkerConfig::from_map(&map).expect("valid");
    assert_eq!(w.sink, SinkKind::Stdout);

    let json = postgres(&dir.join("postgres-connector.json"));
    let props = postgres(&dir.join("postgres-connector.properties"));
    for c in [&json, &props] {
        assert_eq!(c.database_hostname, "127.0.0.1");
        assert_eq!(c.database_port, 5432);
        assert_eq!(c.database_dbname, "test");
        assert_eq!(c.database_user, "postgres");
        assert_eq!(c.topic_prefix, "sluice");
        assert_eq!(c.slot_name, "sluice_example");
        assert_eq!(c.publication_name, "sluice_example");
        assert_eq!(
            c.publication_autocreate_mode,
            PublicationAutocreateMode::Filtered
        );
        assert!(c.filters().include_table("public", "customers"));
        assert!(!c.filters().include_table("other", "customers"));
    }
}

#[test]
fn jdbc_example_is_the_talks_connector() {
    let c = jdbc(&examples_dir().join("jdbc-source.properties"));
    assert_eq!(c.url.database, JdbcDatabase::Postgres);
    assert_eq!(c.mode, JdbcMode::Incrementing);
    assert_eq!(c.incrementing_column.as_deref(), Some("ORDER_ID"));
    assert_eq!(c.table_include, vec!["ORDERS"]);
    assert_eq!(c.topic_prefix, "soe2-");
    assert_eq!(
        c.extra.get("transforms").map(String::as_str),
        Some("InsertKey,ExtractId")
    );
}

#[test]
fn conformance_configs_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/postgres");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("skipping: {} is absent", dir.display());
        return;
    };
    let mut seen = 0;
    for entry in entries {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("properties") {
            continue;
        }
        let c = postgres(&path);
        assert!(
            c.skipped_operations.iter().next().is_none(),
            "skipped.operations=none"
        );
        seen += 1;
    }
    println!("{seen} conformance configs parsed");
    assert!(seen > 0, "no .properties files in {}", dir.display());
}
