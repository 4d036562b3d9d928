//! `takedown-server`: run the hash-list service, or administer platforms.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use takedown_server::store::{DatabaseConfig, Store};
use takedown_server::{Limits, admin};

#[derive(Parser)]
#[command(
    name = "takedown-server",
    version,
    about = "The Takedown hash-list service"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Clone)]
struct Db {
    /// Directory for the SQLite database (`takedown.sqlite3`), created when missing.
    #[arg(long, default_value = "takedown-data")]
    data_dir: PathBuf,
    /// PostgreSQL URL (`postgres://user:pass@host:port/db`); overrides --data-dir.
    #[arg(long, env = "TAKEDOWN_DATABASE_URL", hide_env_values = true)]
    database: Option<String>,
    /// PostgreSQL connection pool size.
    #[arg(long, default_value_t = 16)]
    pool_size: usize,
    /// SQLite reader connections.
    #[arg(long, default_value_t = 4)]
    sqlite_readers: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP service.
    Serve {
        #[command(flatten)]
        db: Db,
        /// Address to listen on (port 0 picks a free port; the chosen address is printed).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Sustained requests per second per client IP (0 disables rate limiting).
        #[arg(long, default_value_t = 50)]
        rate_limit: u32,
        /// Burst per client IP.
        #[arg(long, default_value_t = 100)]
        rate_burst: u32,
        /// Failed token/key checks per client IP per 15 minutes before it is throttled.
        #[arg(long, default_value_t = 10)]
        max_auth_failures: u32,
        /// Largest request body in bytes.
        #[arg(long, default_value_t = takedown_server::DEFAULT_MAX_BODY_BYTES)]
        max_body_bytes: usize,
        /// Seconds to receive a request head.
        #[arg(long, default_value_t = 10.0)]
        header_timeout: f64,
        /// Seconds to receive a request body, from the end of its head.
        #[arg(long, default_value_t = 30.0)]
        body_timeout: f64,
        /// Seconds a kept-alive connection may wait for its next request.
        #[arg(long, default_value_t = 60.0)]
        idle_timeout: f64,
        /// Connections served at once (16 more answer only /healthz).
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
        /// Seconds open connections get to finish after SIGTERM.
        #[arg(long, default_value_t = 10.0)]
        shutdown_grace: f64,
        /// Serve Prometheus metrics at /metrics (off by default: they show volume).
        #[arg(long)]
        metrics: bool,
        /// Log format.
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        log_format: String,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: Db,
    },
    /// Manage platform API keys.
    Platform {
        #[command(flatten)]
        db: Db,
        #[command(subcommand)]
        cmd: PlatformCmd,
    },
}

#[derive(Subcommand)]
enum PlatformCmd {
    /// Create a platform and print its API key (shown once).
    Create {
        /// Platform name.
        name: String,
    },
    /// Revoke a platform's API key.
    Revoke {
        /// Platform name.
        name: String,
    },
    /// List platforms (JSON lines).
    List,
}

fn db_config(db: &Db) -> Result<DatabaseConfig, String> {
    Ok(match &db.database {
        Some(url) => DatabaseConfig::Postgres {
            url: url.clone(),
            pool_size: db.pool_size,
            commit_jitter: None,
        },
        None => {
            std::fs::create_dir_all(&db.data_dir)
                .map_err(|e| format!("cannot create {}: {e}", db.data_dir.display()))?;
            DatabaseConfig::Sqlite {
                path: db.data_dir.join("takedown.sqlite3"),
                readers: db.sqlite_readers,
            }
        }
    })
}

async fn open(db: &Db) -> Result<Store, String> {
    let cfg = db_config(db)?;
    Store::open(&cfg).await.map_err(|e| e.to_string())
}

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
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}

fn secs(v: f64, name: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(v).map_err(|_| format!("{name}: not a duration in seconds: {v}"))
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Serve {
            db,
            listen,
            rate_limit,
            rate_burst,
            max_auth_failures,
            max_body_bytes,
            header_timeout,
            body_timeout,
            idle_timeout,
            max_connections,
            shutdown_grace,
            metrics,
            log_format,
        } => {
            init_logs(&log_format);
            let store = open(&db).await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tracing::info!(%addr, backend = store.backend(), "listening");
            // Machine-readable line for scripts and tests.
            println!("listening on http://{addr}");
            let limits = Limits {
                max_body_bytes,
                rate_per_second: rate_limit,
                rate_burst,
                max_auth_failures,
                auth_failure_window: Duration::from_secs(15 * 60),
                header_read_timeout: secs(header_timeout, "--header-timeout")?,
                body_read_timeout: secs(body_timeout, "--body-timeout")?,
                idle_timeout: secs(idle_timeout, "--idle-timeout")?,
                max_connections,
                shutdown_grace: secs(shutdown_grace, "--shutdown-grace")?,
                expose_metrics: metrics,
            };
            takedown_server::serve(listener, store, limits, shutdown_signal())
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!("stopped");
            Ok(())
        }
        Cmd::Migrate { db } => {
            let store = open(&db).await?;
            store.close().await;
            println!("migrated");
            Ok(())
        }
        Cmd::Platform { db, cmd } => {
            let store = open(&db).await?;
            let r = match cmd {
                PlatformCmd::Create { name } => admin::create_platform(&store, &name)
                    .await
                    .map(|key| println!("{key}"))
                    .map_err(|e| format!("cannot create platform {name:?}: {e}")),
                PlatformCmd::Revoke { name } => match admin::revoke_platform(&store, &name).await {
                    Ok(true) => {
                        println!("revoked {name}");
                        Ok(())
                    }
                    Ok(false) => Err(format!("no active platform named {name:?}")),
                    Err(e) => Err(e.to_string()),
                },
                PlatformCmd::List => store
                    .list_platforms()
                    .await
                    .map(|ps| {
                        for p in ps {
                            println!("{}", serde_json::to_string(&p).unwrap_or_default());
                        }
                    })
                    .map_err(|e| e.to_string()),
            };
            store.close().await;
            r
        }
    }
}

fn init_logs(format: &str) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("TAKEDOWN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // tokio-postgres logs statement parameters (case numbers, hashes) at
    // debug level: never let them through, whatever TAKEDOWN_LOG says.
    for d in ["tokio_postgres=info", "deadpool_postgres=info"] {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        b.json().init();
    } else {
        b.init();
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("takedown-server: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("takedown-server: {e}");
            ExitCode::FAILURE
        }
    }
}
