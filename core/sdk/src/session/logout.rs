//! Ending a session: `logout` (this device forgets the user) and `clear_user_data` (the server forgets the visitor
//! too). Local first: the wipe commits before any network call, so a process killed mid-logout never shows the
//! previous user's data again; the server-side part is recorded in the same transaction and retried until done.
//! Then the store's files are renewed (`Store::renew_files`): deleted rows leave no bytes on disk (docs/decisions.md
//! #12). The only secret kept is a forgotten visitor's token while its server-side cleanup waits for the network.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::local;
use crate::client::{ChatClient, ClientInner};
use crate::error::Result;
use crate::store::meta_set;

/// Server-side work left over from a forgotten visitor. Holds its token (a secret, stored like the session's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PendingCleanup {
    pub visitor_token: String,
    pub unregister_push: bool,
    pub delete_visitor: bool,
}

fn read_cleanups(conn: &rusqlite::Connection) -> Result<Vec<PendingCleanup>> {
    Ok(match local::meta_get(conn, local::META_PENDING_CLEANUP)? {
        Some(json) => serde_json::from_str(&json).unwrap_or_default(),
        None => Vec::new(),
    })
}

impl ClientInner {
    /// Wipes the current visitor locally (one transaction) and records its server-side cleanup; then forgets the
    /// session in memory and bumps the epoch. Caller holds `session.gate`. Never fails because of the network.
    pub(crate) async fn end_session_locked(self: &Arc<Self>, delete_on_server: bool) -> Result<()> {
        let current = self.session().current();
        // The marker exists once the server holds a push token for this visitor.
        let push_registered = self.store().meta_get(local::META_SYNCED_PUSH)?.is_some();
        self.store().write(|tx| {
            if let Some(s) = &current {
                if push_registered || delete_on_server {
                    let mut list = read_cleanups(tx)?;
                    list.push(PendingCleanup {
                        visitor_token: s.visitor_token.clone(),
                        unregister_push: push_registered,
                        delete_visitor: delete_on_server,
                    });
                    meta_set(tx, local::META_PENDING_CLEANUP, &serde_json::to_string(&list)?)?;
                }
            }
            local::wipe_visitor(tx)
        })?;
        self.wipe_attachment_files();
        self.session().set_current(None)?;
        self.session().set_pending(None)?;
        self.session().bump_epoch();
        tracing::info!(delete_on_server, "session ended; local visitor data wiped");
        Ok(())
    }

    /// Performs the recorded server-side cleanups. Done or refused (token already invalid: nothing left to clean)
    /// entries are dropped; the first network failure stops and keeps the rest for later. When entries were dropped,
    /// renews the store's files so their tokens leave the disk too; `Ok(true)` says it did.
    pub(crate) async fn flush_cleanups(self: &Arc<Self>) -> Result<bool> {
        let list = self.store().read(read_cleanups)?;
        if list.is_empty() {
            return Ok(false);
        }
        let mut remaining = list.clone();
        let mut failure = None;
        for item in &list {
            let result = self.cleanup_one(item).await;
            match result {
                Err(e) if e.is_recoverable() => {
                    failure = Some(e);
                    break;
                }
                Err(e) => tracing::debug!(error = %e, "server-side cleanup refused; dropped"),
                Ok(()) => {}
            }
            remaining.retain(|r| r != item);
        }
        self.store().write(|tx| {
            // Entries added while this ran (another logout) are kept: merge rather than overwrite.
            let mut now = read_cleanups(tx)?;
            now.retain(|r| remaining.contains(r) || !list.contains(r));
            if now.is_empty() {
                local::meta_delete(tx, local::META_PENDING_CLEANUP)
            } else {
                meta_set(tx, local::META_PENDING_CLEANUP, &serde_json::to_string(&now)?)
            }
        })?;
        let dropped = remaining.len() < list.len();
        if dropped {
            self.renew_files();
        }
        failure.map_or(Ok(dropped), Err)
    }

    /// After a wipe and its cleanup attempt: renews the store's files unless the cleanup just did.
    pub(crate) fn renew_files_after(&self, cleanup: Result<bool>) {
        match cleanup {
            Ok(true) => {}
            Ok(false) => self.renew_files(),
            Err(e) => {
                tracing::info!(error = %e, "server-side cleanup postponed until the network is back");
                self.renew_files();
            }
        }
    }

    /// The wipe has committed, so the session has ended whatever happens here: a renewal that fails (a full disk:
    /// the copy needs room) is reported in the log, not to the caller, and the next one (next logout or cleanup)
    /// writes a fresh copy again.
    fn renew_files(&self) {
        if let Err(e) = self.store().renew_files() {
            tracing::warn!(error = %e, "the local database files could not be renewed after the wipe");
        }
    }

    async fn cleanup_one(&self, item: &PendingCleanup) -> Result<()> {
        let http = self.http()?;
        let token = Some(item.visitor_token.as_str());
        if item.delete_visitor {
            // Deleting the visitor removes its push token too.
            let _: () = http.delete("/v1/visitor", token).await?;
        } else if item.unregister_push {
            let _: () = http.delete("/v1/visitor/push-token", token).await?;
        }
        Ok(())
    }

    async fn end_session(self: &Arc<Self>, delete_on_server: bool) -> Result<()> {
        {
            let _gate = self.session().gate.lock().await;
            self.end_session_locked(delete_on_server).await?;
        }
        let cleanup = self.flush_cleanups().await;
        self.renew_files_after(cleanup);
        Ok(())
    }
}

impl ChatClient {
    /// Logs the user out of the chat on this device: unregisters the push token from the visitor, deletes the
    /// visitor's local rows (messages, queue, conversations, consents, properties) and forgets its tokens, then
    /// replaces the database files (with their WAL, shared-memory and journal files) by a copy holding only the app's
    /// state, so no byte of the user's data stays on disk. The next need creates a new anonymous visitor. Works
    /// offline (the server-side part is retried later).
    pub async fn logout(&self) -> Result<()> {
        self.run(|inner| async move { inner.end_session(false).await }).await
    }

    /// [`Self::logout`], and the server deletes the visitor and everything it owns (`DELETE /v1/visitor`).
    pub async fn clear_user_data(&self) -> Result<()> {
        self.run(|inner| async move { inner.end_session(true).await }).await
    }
}
