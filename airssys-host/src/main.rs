//! `airssys`: runs a manifest of WebAssembly components under supervision.
//!
//! ```text
//! airssys run MANIFEST [--listen ADDR] [--log-format pretty|json]
//! airssys check MANIFEST
//! airssys audit verify FILE
//! ```

// A command-line tool: stdout and stderr are its user interface.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use airssys_host::{Host, Manifest, Progress, check_manifest};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "airssys",
    version,
    about = "Run WebAssembly components as supervised actors"
)]
struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        value_enum,
        global = true,
        env = "AIRSSYS_LOG_FORMAT",
        default_value = "pretty"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Start every component of MANIFEST under supervision and serve ingress, metrics and
    /// health until SIGTERM or Ctrl-C.
    Run {
        /// The manifest (TOML).
        manifest: PathBuf,
        /// Listen here instead of the manifest's `host.listen` (port 0 picks a free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Join the cluster on this NATS server (`nats://127.0.0.1:4222`), instead of the
        /// manifest's `host.cluster`.
        #[arg(long, value_name = "URL")]
        cluster: Option<String>,
        /// This node's id in the cluster (default: the manifest's `host.node_id`, else generated).
        #[arg(long, value_name = "ID")]
        node_id: Option<String>,
    },
    /// Validate MANIFEST and every component against the WIT world; exit 1 on any problem.
    Check {
        /// The manifest (TOML).
        manifest: PathBuf,
    },
    /// Audit log commands.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of an audit log file; exit 1 if it was tampered with.
    Verify {
        /// The audit log (JSON Lines).
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Run {
            manifest,
            listen,
            cluster,
            node_id,
        } => run(&manifest, listen, cluster, node_id),
        Command::Check { manifest } => Ok(check(&manifest)),
        Command::Audit {
            command: AuditCommand::Verify { file },
        } => Ok(verify(&file)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("airssys: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn check(path: &std::path::Path) -> ExitCode {
    let report = check_manifest(path);
    for p in &report.problems {
        println!("{}: {p}", path.display());
    }
    if report.is_ok() {
        println!(
            "{}: ok, {} component(s) implement airssys:component",
            path.display(),
            report.components_ok.len()
        );
        ExitCode::SUCCESS
    } else {
        println!("{}: {} problem(s)", path.display(), report.problems.len());
        ExitCode::FAILURE
    }
}

fn verify(file: &std::path::Path) -> ExitCode {
    match airssys_wasm_security::verify(file) {
        Ok(report) if report.is_intact() => {
            println!("{}: {report}", file.display());
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!("{}: TAMPERED: {report}", file.display());
            ExitCode::FAILURE
        }
        Err(e) => {
            println!("{}: cannot verify: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

fn run(
    path: &std::path::Path,
    listen: Option<SocketAddr>,
    cluster: Option<String>,
    node_id: Option<String>,
) -> Result<ExitCode> {
    let mut manifest = match Manifest::load(path) {
        Ok(m) => m,
        Err(e) => {
            for p in &e.problems {
                eprintln!("{}: {p}", path.display());
            }
            eprintln!(
                "airssys: {} has {} problem(s); `airssys check {}` lists them too",
                path.display(),
                e.problems.len(),
                path.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if let Some(addr) = listen {
        manifest.host.listen = addr;
    }
    if cluster.is_some() {
        manifest.host.cluster = cluster;
    }
    if node_id.is_some() {
        manifest.host.node_id = node_id;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(serve(manifest))
}

async fn serve(manifest: Manifest) -> Result<ExitCode> {
    let listen = manifest.host.listen;
    let tty = std::io::stderr().is_terminal();
    let host = Host::start(manifest, |p| match p {
        Progress::Compiling {
            index,
            total,
            id,
            path,
        } => {
            let line = format!("compiling [{index}/{total}] {id} ({})", path.display());
            if tty {
                eprint!("\r\x1b[2K{line}");
                let _ = std::io::stderr().flush();
            } else {
                eprintln!("{line}");
            }
        }
        Progress::Starting { name } => {
            if tty {
                eprint!("\r\x1b[2K");
            }
            tracing::debug!(supervisor = name, "starting supervisor");
        }
        _ => {}
    })
    .await
    .context("the host did not start")?;

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("no local address")?;
    if !addr.ip().is_loopback() {
        tracing::warn!(%addr, "listening on a non-loopback address: ingress has no authentication");
    }
    let base = format!("http://{addr}");
    let m = host.manifest();
    println!(
        "airssys: {} component(s) running under {} supervisor(s)",
        m.components.len(),
        m.supervisors.len()
    );
    for c in &m.components {
        println!("  component {:<16} POST {base}/components/{}", c.id, c.id);
    }
    println!("  publish             POST {base}/topics/<topic>");
    println!("  metrics             GET  {base}/metrics");
    println!("  health              GET  {base}/health");
    if m.host.admin_token.is_some() {
        println!("  admin               GET  {base}/admin/status  (Authorization: Bearer <token>)");
    } else {
        println!("  admin               disabled (no host.admin_token, no AIRSSYS_ADMIN_TOKEN)");
    }
    if let (Some(url), Some(node)) = (&m.host.cluster, host.node_id()) {
        println!("  cluster             node {node} on {url} (component ids are cluster-wide)");
    }
    if let Some(first) = m.components.first() {
        println!("  try: curl -s -d hello {base}/components/{}", first.id);
    }
    println!("airssys: listening on {base}");
    let _ = std::io::stdout().flush();

    let app = airssys_host::http::router(host.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")?;
    println!("airssys: stopping: no new requests, draining mailboxes");
    let report = host.shutdown().await;
    println!(
        "airssys: shutdown complete in {:?}: {} drained, {} dead-lettered, {} stopped, {} killed{}",
        report.elapsed,
        report.drained,
        report.dead_lettered,
        report.stopped,
        report.timed_out.len(),
        if report.timed_out.is_empty() {
            String::new()
        } else {
            format!(" ({})", report.timed_out.join(", "))
        }
    );
    let _ = std::io::stdout().flush();
    Ok(ExitCode::SUCCESS)
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
