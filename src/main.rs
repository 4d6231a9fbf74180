//! The `sluice` binary: parse the command line, set up logging and signals, run the worker.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use sluice::cli::{Cli, Command};
use sluice::rest::LogControl;
use sluice::worker::{self, WorkerError};
use tokio_util::sync::CancellationToken;

mod demo;
mod logging;

/// Records are built on one thread and freed on another (the sink's writer); glibc's
/// allocator spent ~30 % of a snapshot's CPU on that. mimalloc handles cross-thread frees
/// cheaply (see README, "Tests and benchmarks"). The `system-allocator` feature leaves the
/// system allocator in place (for heap profilers such as heaptrack).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_control = logging::init();
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
    let code = runtime.block_on(async_main(cli, log_control));
    runtime.shutdown_timeout(Duration::from_secs(2));
    ExitCode::from(code as u8)
}

async fn async_main(cli: Cli, log_control: Arc<dyn LogControl>) -> i32 {
    let result = match cli.command {
        Command::Standalone { worker, connectors } => {
            standalone(&worker, &connectors, log_control).await
        }
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
    log_control: Arc<dyn LogControl>,
) -> Result<(), WorkerError> {
    let worker_map = sluice_config::load_worker_file(worker)
        .map_err(|e| WorkerError::Setup(sluice::postgres::connector::error_chain(&e)))?;
    let connector_maps = load_connectors(connectors)?;
    // Every file is checked before anything starts: a bad key stops Sluice with exit code 2.
    let (worker_config, _) = worker::parse_configs(&worker_map, &connector_maps)?;
    let options = worker::RunOptions {
        log_control: Some(log_control),
        on_listening: None,
    };
    worker::run(worker_config, connector_maps, shutdown_token(), options).await
}

fn validate(connectors: &[std::path::PathBuf]) -> Result<(), WorkerError> {
    let maps = load_connectors(connectors)?;
    worker::parse_configs(&Default::default(), &maps)?;
    println!("{} connector configuration(s) valid", maps.len());
    Ok(())
}
