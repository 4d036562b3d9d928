//! The hash-list service in-process on loopback, with its own SQLite file in a
//! temporary directory: the real `takedown-server` router and store.

use std::path::PathBuf;

use takedown_server::Limits;
use takedown_server::store::{DatabaseConfig, Store};

/// A running service; stopped (and its temporary files deleted) when dropped.
pub struct LocalService {
    /// Base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The service's SQLite file.
    pub db_path: PathBuf,
    store: Store,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

/// Why the service did not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

impl LocalService {
    /// Starts the service on `127.0.0.1` (a free port) with a new SQLite file and
    /// the default limits. Must be called inside a tokio runtime.
    pub async fn start() -> Result<LocalService, StartError> {
        let dir = tempfile::Builder::new()
            .prefix("takedown-service-")
            .tempdir()
            .map_err(|e| StartError(format!("no temporary directory: {}", e.kind())))?;
        let db_path = dir.path().join("service.sqlite3");
        let store = Store::open(&DatabaseConfig::Sqlite {
            path: db_path.clone(),
            readers: 2,
        })
        .await
        .map_err(|e| StartError(format!("cannot open the service's database: {e}")))?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| StartError(format!("cannot listen on loopback: {}", e.kind())))?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError(format!("no local address: {}", e.kind())))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(takedown_server::serve(
            listener,
            store.clone(),
            Limits::default(),
            async {
                let _ = rx.await;
            },
        ));
        Ok(LocalService {
            url: format!("http://{addr}"),
            db_path,
            store,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        })
    }

    /// Registers a platform (the service's `platform create` admin path) and
    /// returns its API key. Keep the key secret: never print or log it.
    pub async fn register_platform(&self, name: &str) -> Result<String, StartError> {
        takedown_server::admin::create_platform(&self.store, name)
            .await
            .map_err(|e| StartError(format!("cannot register the platform: {e}")))
    }

    /// Stops accepting connections, finishes in-flight requests and closes the
    /// store.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for LocalService {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
