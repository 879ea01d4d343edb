//! The receive side: applying server messages (pages, backlog, live frames, acks nobody waited for) to the store,
//! REST catch-up with `after_seq` pages, and the conversation list refresh. Every batch is one event, written in
//! transactions of at most [`ROWS_PER_TRANSACTION`] messages; applying anything twice changes nothing (upsert by
//! client id, then by `(conversation, seq)`).
//!
//! Writes are fenced by the visitor: a batch fetched for a visitor that logged out meanwhile is dropped (checked in
//! the same transaction as the write, so it can never land in the next user's store).

use std::sync::Arc;

use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{AuthorKind, ConversationList, Message, MessagePage};

use crate::client::ClientInner;
use crate::error::Result;
use crate::events::ChatEvent;
use crate::model::ChatConversation;
use crate::sync::state::SyncState;
use crate::sync::tables::conversations;
use crate::sync::tables::messages;
use crate::transport::Fetched;

/// Most messages one write transaction applies. A `send` or `mark_read` on the UI thread waits for the transaction
/// in progress (writers take turns, `store::access`): a page of 500 held the writer 2–6 ms on the dev machine, more
/// on a phone; 100 keep the wait near a millisecond. Each transaction leaves the cursor on what it stored, so a
/// page cut short (an error, the app killed) resumes after its last whole transaction.
pub(crate) const ROWS_PER_TRANSACTION: usize = 100;

/// Most pages one catch-up fetches (500 × 10,000 = five million messages): a misbehaving server cannot loop us.
const MAX_CATCH_UP_PAGES: usize = 10_000;

/// The result of applying a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Rows inserted or changed.
    pub changed: usize,
    /// The conversation's cursor after the batch (every seq up to it is stored).
    pub synced_seq: u64,
    /// The highest seq known to exist.
    pub last_seq: u64,
    /// The visitor changed meanwhile: nothing was written.
    pub stale: bool,
}

pub(crate) use crate::session::local::still_visitor;

/// Applies messages of one conversation in one transaction and announces them (one event for the batch).
pub(crate) fn apply_messages(
    state: &SyncState,
    visitor_id: &str,
    conversation_id: &str,
    batch: &[Message],
    last_seq: Option<u64>,
) -> Result<Applied> {
    apply_batch(state, visitor_id, conversation_id, batch, last_seq, true)
}

/// [`apply_messages`]; `announce_unread: false` leaves the unread counts to the caller (catch-up announces them once
/// at the end instead of once per page).
fn apply_batch(
    state: &SyncState,
    visitor_id: &str,
    conversation_id: &str,
    batch: &[Message],
    last_seq: Option<u64>,
    announce_unread: bool,
) -> Result<Applied> {
    let mut changed = Vec::new();
    let mut applied = Applied::default();
    let mut failed = None;
    // An empty batch still records `last_seq`.
    let chunks = batch.chunks(ROWS_PER_TRANSACTION).chain(batch.is_empty().then_some(batch));
    for chunk in chunks {
        let written = state.store().write(|tx| {
            if !still_visitor(tx, visitor_id)? {
                return Ok(None);
            }
            let changed = messages::apply_server_messages(tx, chunk)?;
            conversations::ensure(tx, conversation_id, chunk.first().map_or(0, |m| m.created_at))?;
            if let Some(last) = last_seq {
                conversations::raise_last_seq(tx, conversation_id, last)?;
            }
            let synced_seq = messages::advance_cursor(tx, conversation_id)?;
            // `ensure` above guarantees the row.
            let last_seq = conversations::last_seq_of(tx, conversation_id)?.unwrap_or_default();
            Ok(Some((changed, synced_seq, last_seq)))
        });
        let written = match written {
            Ok(written) => written,
            Err(e) => {
                // What the earlier transactions committed is still announced below.
                failed = Some(e);
                break;
            }
        };
        let Some((rows, synced_seq, last_seq)) = written else {
            // The visitor changed: what was written before belonged to them and is being wiped; say nothing.
            return Ok(Applied { stale: true, ..Applied::default() });
        };
        changed.extend(rows);
        applied = Applied { changed: changed.len(), synced_seq, last_seq, stale: false };
    }
    if !changed.is_empty() {
        let from_team = changed.iter().any(|m| m.author.kind != AuthorKind::Visitor);
        state
            .events
            .emit(ChatEvent::MessagesChanged { conversation_id: conversation_id.to_owned(), messages: changed });
        if from_team && announce_unread {
            state.emit_unread();
        }
    }
    failed.map_or(Ok(applied), Err)
}

/// Fetches every message after the conversation's cursor, page by page, each page one event (and a few short
/// transactions, [`ROWS_PER_TRANSACTION`]). The next page
/// is requested while the current one is written (its `after_seq` is the current page's last seq), so the network
/// and the disk overlap. Returns how many messages came.
pub(crate) async fn catch_up(inner: &Arc<ClientInner>, state: &SyncState, conversation_id: &str) -> Result<u64> {
    let session = inner.visitor_session().await?;
    let http = inner.http()?.clone();
    let fetch = |after: u64| {
        let (http, token) = (http.clone(), session.visitor_token.clone());
        let path = format!("/v1/conversations/{conversation_id}/messages?after_seq={after}&limit={MAX_PAGE_SIZE}");
        inner.spawn_for(async move {
            match http.get::<MessagePage>(&path, Some(&token), None).await? {
                Fetched::Fresh { body, .. } => Ok(Some(body)),
                Fetched::NotModified => Ok(None),
            }
        })
    };
    let mut received = 0u64;
    let mut synced =
        state.store().read(|c| conversations::get(c, conversation_id))?.map_or(0, |c| c.synced_seq.unsigned_abs());
    let mut next = Some(fetch(synced)?);
    for _ in 0..MAX_CATCH_UP_PAGES {
        let Some(pending) = next.take() else { break };
        let page: Result<Option<MessagePage>> = pending.output().await?;
        let Some(page) = page? else { break };
        let last_in_page = page.messages.last().map(|m| m.seq);
        if let (true, Some(last)) = (page.has_more, last_in_page) {
            next = Some(fetch(last)?);
        }
        received += page.messages.len() as u64;
        let applied =
            apply_batch(state, &session.visitor_id, conversation_id, &page.messages, Some(page.last_seq), false)?;
        let moved = applied.synced_seq > synced;
        synced = applied.synced_seq;
        // Stale (the visitor changed) or no progress (the server skipped a seq it promised): stop rather than loop.
        if applied.stale || !moved {
            if let Some(n) = next.take() {
                n.abort();
            }
            break;
        }
    }
    if received > 0 {
        state.emit_unread();
    }
    state.events.emit(ChatEvent::CaughtUp {
        conversation_id: conversation_id.to_owned(),
        synced_seq: crate::model::long(synced),
        received: crate::model::count(received),
    });
    Ok(received)
}

/// Runs [`catch_up`] in the background unless one is already running for the conversation.
pub(crate) fn spawn_catch_up(inner: &Arc<ClientInner>, state: &Arc<SyncState>, conversation_id: &str) {
    if !state.begin_catch_up(conversation_id) {
        return;
    }
    let weak = Arc::downgrade(inner);
    let st = state.clone();
    let id = conversation_id.to_owned();
    let spawned = inner.spawn(async move {
        if let Some(inner) = weak.upgrade() {
            if let Err(e) = catch_up(&inner, &st, &id).await {
                tracing::debug!(error = %e, "catch-up failed; the next reconnect or gap retries it");
            }
        }
        st.end_catch_up(&id);
    });
    if spawned.is_err() {
        state.end_catch_up(conversation_id);
    }
}

/// `GET /v1/conversations` into the store (one transaction); announces each conversation. Returns them as stored.
pub(crate) async fn refresh_conversations(
    inner: &Arc<ClientInner>,
    state: &SyncState,
) -> Result<Vec<ChatConversation>> {
    let session = inner.visitor_session().await?;
    let list: ConversationList =
        match inner.http()?.get("/v1/conversations", Some(&session.visitor_token), None).await? {
            Fetched::Fresh { body, .. } => body,
            Fetched::NotModified => ConversationList { conversations: Vec::new() },
        };
    let stored = state.store().write(|tx| {
        if !still_visitor(tx, &session.visitor_id)? {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(list.conversations.len());
        for c in &list.conversations {
            conversations::upsert(tx, c)?;
            out.extend(conversations::get(tx, &c.id)?);
        }
        Ok(out)
    })?;
    for conversation in &stored {
        state.events.emit(ChatEvent::ConversationChanged { conversation: conversation.clone() });
    }
    state.emit_unread();
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use chatflow_protocol::{Author, AuthorKind, Message};

    use super::*;
    use crate::store::{wait_until, Store};

    const VISITOR: &str = "v1";

    fn team_message(seq: u64) -> Message {
        Message {
            conversation_id: "c1".into(),
            seq,
            client_message_id: None,
            author: Author { kind: AuthorKind::Agent, id: None, display_name: Some("Sam".into()), avatar_url: None },
            body: format!("message {seq}"),
            quick_replies: Vec::new(),
            quick_reply_id: None,
            created_at: 1_000 + seq as i64,
            survey: None,
            attachments: Vec::new(),
        }
    }

    /// A store whose session is `VISITOR`'s (the receiver writes only for the current visitor).
    fn store_with_visitor() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO session (id, visitor_id, visitor_token, created_at) VALUES (1, ?1, 't', 0)",
                    [VISITOR],
                )?;
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    #[test]
    fn a_write_waiting_during_a_page_gets_the_store_between_two_of_its_transactions() {
        let (_dir, store) = store_with_visitor();
        let state = Arc::new(SyncState::new(store.clone()));
        let mut events = state.events.receiver();

        // Something else is writing when the page arrives, so that the page and the UI's write queue up in turn.
        let (holding, held) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let other = {
            let store = store.clone();
            std::thread::spawn(move || {
                store
                    .write(|_| {
                        holding.send(()).unwrap();
                        released.recv().unwrap();
                        Ok(())
                    })
                    .unwrap()
            })
        };
        held.recv().unwrap();
        let page: Vec<Message> = (1..=250).map(team_message).collect();
        let catch_up = {
            let state = state.clone();
            std::thread::spawn(move || apply_messages(&state, VISITOR, "c1", &page, Some(250)).unwrap())
        };
        wait_until(|| store.writers_waiting() == 1);
        // The UI thread writes (a send, a read marker) and sees what the page had committed by then.
        let ui = {
            let store = store.clone();
            std::thread::spawn(move || {
                store
                    .write(|tx| {
                        let stored: i64 = tx.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?;
                        Ok((stored, conversations::get(tx, "c1")?.map(|c| c.synced_seq)))
                    })
                    .unwrap()
            })
        };
        wait_until(|| store.writers_waiting() == 2);
        release.send(()).unwrap();
        other.join().unwrap();

        let first = ROWS_PER_TRANSACTION as i64;
        assert_eq!(ui.join().unwrap(), (first, Some(first)), "the UI's write came right after the first transaction");
        let applied = catch_up.join().unwrap();
        assert_eq!((applied.changed, applied.synced_seq, applied.last_seq), (250, 250, 250));
        // Still one event for the page.
        let mut announced = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let ChatEvent::MessagesChanged { messages, .. } = event {
                announced.push(messages.len());
            }
        }
        assert_eq!(announced, [250], "one event per page");
    }

    #[test]
    fn a_page_cut_short_keeps_and_announces_its_whole_transactions() {
        let (_dir, store) = store_with_visitor();
        let state = SyncState::new(store.clone());
        let mut events = state.events.receiver();
        // The second transaction fails: a seq the store cannot hold (above i64::MAX) stands for any write error.
        let mut page: Vec<Message> = (1..=150).map(team_message).collect();
        page[120].seq = u64::MAX;
        assert!(apply_messages(&state, VISITOR, "c1", &page, Some(150)).is_err());

        let synced = store.read(|c| conversations::get(c, "c1")).unwrap().map(|c| c.synced_seq);
        assert_eq!(synced, Some(ROWS_PER_TRANSACTION as i64), "the next catch-up starts after the first transaction");
        let mut announced = Vec::new();
        while let Ok(event) = events.try_recv() {
            if let ChatEvent::MessagesChanged { messages, .. } = event {
                announced.push(messages.len());
            }
        }
        assert_eq!(announced, [ROWS_PER_TRANSACTION], "what was committed is announced");
    }

    #[test]
    fn a_page_for_a_visitor_who_left_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let state = SyncState::new(store.clone());
        let page: Vec<Message> = (1..=150).map(team_message).collect();
        let applied = apply_messages(&state, VISITOR, "c1", &page, Some(150)).unwrap();
        assert!(applied.stale);
        let stored: u64 = store.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))?)).unwrap();
        assert_eq!(stored, 0);
    }
}
