//! The `sluice` binary: parse the command line, set up logging and signals, run the worker.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sluice::cli::{Cli, Command};
use sluice::worker::{self, WorkerError};
use tokio_util::sync::CancellationToken;

mod demo;

/// Records are built on one thread and freed on another (the sink's writer); glibc's
/// allocator spent ~30 % of a snapshot's CPU on that. mimalloc handles cross-thread frees
/// cheaply (see README, "Tests and benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // No colour codes in log files and journals.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async_main(cli));
    runtime.shutdown_timeout(Duration::from_secs(2));
    ExitCode::from(code as u8)
}

async fn async_main(cli: Cli) -> i32 {
    let result = match cli.command {
        Command::Standalone { worker, connectors } => standalone(&worker, &connectors).await,
        Command::Validate { connectors } => validate(&connectors),
        Command::Demo { out, follow } => demo::run(&out, follow, shutdown_token()).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// Cancelled on SIGTERM or SIGINT.
fn shutdown_token() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    t.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("stop requested: delivering in-flight records and committing offsets");
        t.cancel();
    });
    token
}

fn load_connectors(
    paths: &[std::path::PathBuf],
) -> Result<Vec<std::collections::BTreeMap<String, String>>, WorkerError> {
    paths
        .iter()
        .map(|p| {
            sluice_config::load_connector_file(p)
                .map(|f| f.config)
                .map_err(|e| WorkerError::Setup(sluice::postgres::connector::error_chain(&e)))
        })
        .collect()
}

async fn standalone(
    worker: &std::path::Path,
    connectors: &[std::path::PathBuf],
) -> Result<(), WorkerError> {
    let worker_map = sluice_config::load_worker_file(worker)
        .map_err(|e| WorkerError::Setup(sluice::postgres::connector::error_chain(&e)))?;
    let connector_maps = load_connectors(connectors)?;
    let (worker_config, connector_configs) = worker::parse_configs(&worker_map, &connector_maps)?;
    worker::run(worker_config, connector_configs, shutdown_token()).await
}

fn validate(connectors: &[std::path::PathBuf]) -> Result<(), WorkerError> {
    let maps = load_connectors(connectors)?;
    worker::parse_configs(&Default::default(), &maps)?;
    println!("{} connector configuration(s) valid", maps.len());
    Ok(())
}
