//! Store insert throughput: 10,000 server messages applied in ONE transaction through the SDK's upsert
//! (`sync::tables::messages::apply_server_messages`: client-id lookup, insert-or-ignore by `(conversation, seq)`, outbox
//! cleanup, cursor advance) vs the floor, bare rusqlite prepared INSERTs of the same rows into the same schema, same
//! pragmas (WAL, synchronous = NORMAL), also one transaction.
//!
//! `cargo bench -p chatflow-core --bench store_insert`. `STORE_BENCH_ROUNDS` changes the number of rounds (default 7).
//! Prints rows/s of each (median round) and the ratio. Not a test: nothing asserts a time.

use std::time::{Duration, Instant};

use chatflow_core::protocol::{Author, AuthorKind, Channel, Conversation, ConversationStatus, Message};
use chatflow_core::store::Store;
use chatflow_core::sync::tables::{conversations, messages};

const ROWS: u64 = 10_000;

fn rows() -> Vec<Message> {
    (1..=ROWS)
        .map(|seq| Message {
            conversation_id: "conv-bench".into(),
            seq,
            client_message_id: (seq % 3 == 0).then(|| format!("cid-{seq:08}")),
            author: Author {
                kind: if seq % 3 == 0 { AuthorKind::Visitor } else { AuthorKind::Agent },
                id: Some("ag_1".into()),
                display_name: Some("Sam".into()),
                avatar_url: None,
            },
            body: format!("message number {seq} with a body of a typical chat length, a sentence or two."),
            quick_replies: vec![],
            quick_reply_id: None,
            created_at: 1_700_000_000_000 + seq as i64,
            survey: None,
            attachments: Vec::new(),
        })
        .collect()
}

fn conversation() -> Conversation {
    Conversation {
        id: "conv-bench".into(),
        chatflow_id: 1,
        visitor_id: "v".into(),
        status: ConversationStatus::Open,
        channel: Channel::MobileChat,
        assignee: None,
        created_at: 0,
        last_seq: 0,
        agent_read_seq: 0,
        visitor_read_seq: 0,
    }
}

fn sdk_round(batch: &[Message]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.write(|tx| conversations::upsert(tx, &conversation())).unwrap();
    let t = Instant::now();
    let changed = store.write(|tx| messages::apply_server_messages(tx, batch)).unwrap();
    let d = t.elapsed();
    assert_eq!(changed.len() as u64, ROWS);
    d
}

/// The floor: the same table (from the SDK's own migration, so indexes match) and plain INSERTs.
fn bare_round(batch: &[Message]) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    // Create the schema through the SDK once, then work on a plain connection.
    drop(Store::open(dir.path()).unwrap());
    let mut conn = rusqlite::Connection::open(dir.path().join(chatflow_core::store::DB_FILE_NAME)).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;").unwrap();
    conn.execute(
        "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES ('conv-bench', 1, 'open', 0)",
        [],
    )
    .unwrap();
    let t = Instant::now();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO messages (conversation_id, seq, client_message_id, author_kind, author_id, author_name,
                                       author_avatar, body, quick_replies, quick_reply_id, created_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10, 'sent')",
            )
            .unwrap();
        for m in batch {
            stmt.execute(rusqlite::params![
                m.conversation_id,
                m.seq as i64,
                m.client_message_id,
                if m.author.kind == AuthorKind::Visitor { "visitor" } else { "agent" },
                m.author.id,
                m.author.display_name,
                m.author.avatar_url,
                m.body,
                m.quick_reply_id,
                m.created_at
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
    t.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("STORE_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let batch = rows();
    // Warm-up (page cache, allocator).
    sdk_round(&batch);
    bare_round(&batch);
    let mut sdk = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..rounds {
        // Interleaved so drift affects both alike.
        bare.push(bare_round(&batch));
        sdk.push(sdk_round(&batch));
    }
    let (s, b) = (median(sdk), median(bare));
    let rate = |d: Duration| ROWS as f64 / d.as_secs_f64();
    println!("store_insert: {ROWS} messages in one transaction, median of {rounds} rounds");
    println!("  sdk  apply_server_messages: {:>8.1} ms  {:>9.0} rows/s", s.as_secs_f64() * 1e3, rate(s));
    println!("  bare rusqlite INSERT:       {:>8.1} ms  {:>9.0} rows/s", b.as_secs_f64() * 1e3, rate(b));
    println!("  ratio sdk/bare (time): {:.2}x", s.as_secs_f64() / b.as_secs_f64());
}
