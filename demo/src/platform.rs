//! The platform's side: the kit (`takedown-platform`) as a trust-and-safety team
//! runs it — a local copy of the list in SQLite kept by delta sync, the matcher
//! kept current page by page, a folder scan with query expansion, and feedback
//! through the persisted queue.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;
use takedown_platform::client::{Client, RetryPolicy};
use takedown_platform::feedback::{self, FlushReport};
use takedown_platform::matcher::Matcher;
use takedown_platform::scan::{FileResult, ScanOptions, collect_files, scan_file};
use takedown_platform::store::Store;
use takedown_platform::sync::{SyncOptions, SyncReport, sync_once};
use takedown_protocol::Outcome;

use crate::Result;

/// A platform's running kit.
pub struct Platform {
    store: Store,
    client: Client,
    matcher: Matcher,
}

impl Platform {
    /// Opens (or creates) the local list in `data_dir` for the service at
    /// `service_url` with the platform's API key.
    pub fn open(data_dir: &Path, service_url: &str, api_key: &str) -> Result<Platform> {
        std::fs::create_dir_all(data_dir)?;
        let store = Store::open(&data_dir.join("list.sqlite3"))?;
        let matcher = Matcher::from_store(&store)?;
        let client = Client::new(service_url, api_key, Duration::from_secs(30))?;
        Ok(Platform {
            store,
            client,
            matcher,
        })
    }

    /// One delta sync; each committed page goes into the matcher before the next
    /// is fetched.
    pub async fn sync(&mut self) -> Result<SyncReport> {
        let matcher = &mut self.matcher;
        Ok(sync_once(
            &self.client,
            &mut self.store,
            &SyncOptions::default(),
            &mut |changes, at| matcher.apply_page(changes, at),
        )
        .await?)
    }

    /// Items on the local list.
    pub fn listed(&self) -> usize {
        self.matcher.len()
    }

    /// Number of PDQ hashes in the index (each picture and its edge cuts).
    pub fn indexed_hashes(&self) -> usize {
        self.matcher.indexed_hashes()
    }

    /// The MD5 of every item on the local list, by the service's global item
    /// id (what hits and feedback name).
    pub fn listed_md5s(&self) -> Result<HashMap<i64, [u8; 16]>> {
        let mut out = HashMap::new();
        self.store.for_each_active(|e| {
            out.insert(e.item_id, e.md5);
        })?;
        Ok(out)
    }

    /// Scans every file under `dir` (query expansion on), in parallel; results
    /// in file-name order.
    pub fn scan(&self, dir: &Path) -> Vec<(PathBuf, FileResult)> {
        let (files, _) = collect_files(&[dir.to_path_buf()]);
        let opts = ScanOptions::default();
        let matcher = &self.matcher;
        files
            .into_par_iter()
            .map(|f| {
                let r = scan_file(matcher, &f, &opts);
                (f, r)
            })
            .collect()
    }

    /// Queues one feedback event.
    pub fn feedback(&mut self, item_id: i64, outcome: Outcome) -> Result<()> {
        feedback::enqueue(&mut self.store, item_id, outcome, None, None)?;
        Ok(())
    }

    /// Sends the queued feedback until the service confirms it.
    pub async fn flush_feedback(&mut self) -> Result<FlushReport> {
        Ok(feedback::flush(&self.client, &mut self.store, &RetryPolicy::default()).await?)
    }
}
