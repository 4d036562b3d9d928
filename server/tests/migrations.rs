//! Migration 0003 (per-case item numbers, ADR 0110) on a database made by the
//! earlier schema versions, on both backends.

mod common;

use common::*;
use takedown_protocol as p;
use takedown_server::store::{NewBatch, NewItem, Store};

both_backends!(migration_0003_numbers_existing_items_per_case_in_order_of_addition);

const V1: [&str; 2] = [
    include_str!("../migrations/sqlite/0001_init.sql"),
    include_str!("../migrations/sqlite/0002_feedback_outcomes.sql"),
];
const V1_PG: [&str; 2] = [
    include_str!("../migrations/postgres/0001_init.sql"),
    include_str!("../migrations/postgres/0002_feedback_outcomes.sql"),
];

/// Rows as schema version 2 stored them: two cases whose items interleave
/// (global ids 1..5: case 1 holds 1, 3, 5; case 2 holds 2, 4), and a
/// withdrawal event naming global id 3.
fn v2_rows(blob: impl Fn(u8) -> String) -> String {
    let mut sql = String::new();
    for c in 1..=2u8 {
        sql += &format!(
            "INSERT INTO cases (number, token_hash, idem_hash, request_hash, token_wrap, \
             submitter, state, item_count, created_at) \
             VALUES ('TD-0000-0000-000{c}', {h}, {i}, {h}, {h}, 'person_shown', 0, {n}, 1);\n",
            h = blob(c),
            i = blob(10 + c),
            n = if c == 1 { 3 } else { 2 },
        );
    }
    for (k, case) in [1, 2, 1, 2, 1].iter().enumerate() {
        sql += &format!(
            "INSERT INTO items (case_id, batch, kind, md5, sha256, state, add_seq, created_at) \
             VALUES ({case}, 0, 0, {m}, {m}, 0, {seq}, 1);\n",
            m = blob(100 + k as u8),
            seq = k + 1,
        );
    }
    sql += "INSERT INTO events (case_id, at, kind, item_id, count) \
            VALUES (1, 2, 'item_withdrawn', 3, 1);\n";
    sql
}

async fn migration_0003_numbers_existing_items_per_case_in_order_of_addition(b: Backend) {
    let Some(db) = TestDb::new(b).await else {
        return;
    };
    match b {
        Backend::Sqlite => {
            let path = db.dir.path().join("takedown.sqlite3");
            let c = rusqlite::Connection::open(&path).unwrap();
            for sql in V1 {
                c.execute_batch(sql).unwrap();
            }
            c.execute_batch(&v2_rows(|b| format!("X'{b:02x}'")))
                .unwrap();
            c.execute_batch("PRAGMA user_version = 2").unwrap();
        }
        Backend::Postgres => {
            let (c, conn) =
                tokio_postgres::connect(db.pg_url.as_deref().unwrap(), tokio_postgres::NoTls)
                    .await
                    .unwrap();
            tokio::spawn(conn);
            for sql in V1_PG {
                c.batch_execute(sql).await.unwrap();
            }
            c.batch_execute(&v2_rows(|b| format!("'\\x{b:02x}'::bytea")))
                .await
                .unwrap();
            c.batch_execute(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, \
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()); \
                 INSERT INTO schema_migrations (version) VALUES (1), (2);",
            )
            .await
            .unwrap();
        }
    }
    let store = Store::open(&db.config(None)).await.unwrap();
    let status = |case_id: i64| {
        let store = store.clone();
        async move {
            takedown_server::domain::case_status(&store, case_id, Default::default())
                .await
                .unwrap()
        }
    };
    let one = status(1).await;
    let numbers: Vec<i64> = one.items.iter().map(|i| i.item_id).collect();
    assert_eq!(numbers, [1, 2, 3], "case 1's global ids 1, 3, 5");
    assert_eq!(
        one.timeline[0].item_id,
        Some(2),
        "the event named global id 3"
    );
    let two = status(2).await;
    let numbers: Vec<i64> = two.items.iter().map(|i| i.item_id).collect();
    assert_eq!(numbers, [1, 2], "case 2's global ids 2, 4");
    // New items continue each case's numbering.
    let item: p::ItemInput = serde_json::from_value(image_item()).unwrap();
    let added = store
        .add_items(NewBatch {
            case_id: 2,
            idem_hash: [7; 32],
            request_hash: [8; 32],
            items: vec![NewItem::from_input(&item)],
            now: 3,
        })
        .await
        .unwrap();
    assert_eq!(added.item_numbers, [3]);
    store.close().await;
    db.drop_schema().await;
}
