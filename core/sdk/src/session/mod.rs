//! Visitor sessions: the lazily created anonymous visitor, identification (and the merge the server does), the
//! identity-token provider, chat properties, device metadata, push registration and logout.
//!
//! # Rules
//! * `open` never touches the network: the session row is loaded from the store. The anonymous visitor is created
//!   on first need ([`ClientInner::visitor_session`]) and persisted (id + token) before anything uses it.
//! * Identification is offline-first: `identify` records the identity token as *pending* and completes it at once
//!   when the server is reachable, or on the next need otherwise. When the server reports the identity token expired,
//!   the app's [`IdentityTokenProvider`] is asked for a fresh one; work that needs the session (the send queue) waits
//!   meanwhile and is never dropped.
//! * A different user (identify with another `sub`, or logout) wipes every row of the previous visitor — messages,
//!   conversations, outbox, consents, properties, session — in one transaction *before* anything of the new user is
//!   written, and bumps the session epoch ([`SessionState::subscribe`]) so background work of the old user stops.
//!   The previous user's push registration is removed from the server (retried later when offline).
//!
//! # For the other capabilities (send queue, realtime, KB)
//! * [`ClientInner::visitor_session`] — the current session, created/identified as needed (network). An error means
//!   "no usable session now": keep queued work queued.
//! * [`ClientInner::cached_session`] — the session without any network (may be `None`).
//! * [`ClientInner::renew_session`] — call it when the server refused a visitor token with `invalid_token` or
//!   `identity_token_expired`; it returns a session to retry with (asking the token provider when needed).
//! * [`SessionState::epoch`] / [`SessionState::subscribe`] — changes whenever the visitor is replaced; a task that
//!   started under an older epoch must not write its results.

mod identity;
pub(crate) mod local;
mod logout;
mod profile;
mod push;

use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use chatflow_protocol::{ErrorCode, VisitorSession};

pub use identity::{IdentifyOutcome, IdentityTokenProvider, TokenProviderError};
pub(crate) use profile::should_ask_email;
pub use profile::{EmailPrompt, EMAIL_PROPERTY};
pub use push::{parse_push, parse_push_json, PushHandling, PushNotification, PushSync, PushTarget};

use crate::client::{now_ms, ClientInner};
use crate::error::{Error, Result};
use crate::store::Store;

/// What the app may know about the session (no token: tokens never leave the SDK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// `None` while no visitor exists yet (identify called offline before the first visitor was created).
    pub visitor_id: Option<String>,
    /// Set once identified.
    pub user_id: Option<String>,
    pub email: Option<String>,
    /// An identity token is waiting for the server (identify was called offline).
    pub identify_pending: bool,
}

/// An identity token waiting for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingIdentity {
    pub token: String,
    pub user_id: String,
}

/// In-memory mirror of the session row plus the locks that keep session changes one at a time.
pub(crate) struct SessionState {
    current: RwLock<Option<VisitorSession>>,
    pending: RwLock<Option<PendingIdentity>>,
    /// Serializes visitor creation, identify, renewal and logout: two callers needing a visitor at once must not
    /// create two.
    pub(crate) gate: tokio::sync::Mutex<()>,
    epoch: watch::Sender<u64>,
    provider: RwLock<Option<Arc<dyn IdentityTokenProvider>>>,
}

impl SessionState {
    /// Loads the cached session (no network).
    pub(crate) fn load(store: &Store) -> Result<SessionState> {
        let (row, pending) = store.read(|c| {
            let row = local::load(c)?;
            let token = local::meta_get(c, local::META_PENDING_IDENTITY)?;
            let user = local::meta_get(c, local::META_PENDING_USER)?;
            Ok((row, token.zip(user).map(|(token, user_id)| PendingIdentity { token, user_id })))
        })?;
        Ok(SessionState {
            current: RwLock::new(row.map(|r| r.session)),
            pending: RwLock::new(pending),
            gate: tokio::sync::Mutex::new(()),
            epoch: watch::Sender::new(0),
            provider: RwLock::new(None),
        })
    }

    pub(crate) fn current(&self) -> Option<VisitorSession> {
        self.current.read().ok().and_then(|g| g.clone())
    }

    fn set_current(&self, s: Option<VisitorSession>) -> Result<()> {
        *self.current.write().map_err(|_| Error::poisoned())? = s;
        Ok(())
    }

    pub(crate) fn pending(&self) -> Option<PendingIdentity> {
        self.pending.read().ok().and_then(|g| g.clone())
    }

    fn set_pending(&self, p: Option<PendingIdentity>) -> Result<()> {
        *self.pending.write().map_err(|_| Error::poisoned())? = p;
        Ok(())
    }

    /// Changes whenever the visitor is replaced (logout, another user identified, visitor lost on the server).
    pub(crate) fn epoch(&self) -> u64 {
        *self.epoch.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.epoch.subscribe()
    }

    fn bump_epoch(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }

    pub(crate) fn provider(&self) -> Option<Arc<dyn IdentityTokenProvider>> {
        self.provider.read().ok().and_then(|g| g.clone())
    }

    fn set_provider(&self, p: Option<Arc<dyn IdentityTokenProvider>>) -> Result<()> {
        *self.provider.write().map_err(|_| Error::poisoned())? = p;
        Ok(())
    }
}

/// Server codes that mean "this visitor token (or the identity behind it) no longer works".
pub(crate) fn is_session_refusal(e: &Error) -> bool {
    matches!(e, Error::Server { code: ErrorCode::InvalidToken | ErrorCode::IdentityTokenExpired, .. })
}

impl ClientInner {
    /// The session without network (`None` before the first need).
    pub(crate) fn cached_session(&self) -> Option<VisitorSession> {
        self.session().current()
    }

    /// The current session: creates the anonymous visitor on first need and completes a pending identification.
    pub(crate) async fn visitor_session(self: &Arc<Self>) -> Result<VisitorSession> {
        if let (Some(s), None) = (self.session().current(), self.session().pending()) {
            return Ok(s);
        }
        let _gate = self.session().gate.lock().await;
        self.visitor_session_locked().await
    }

    /// [`Self::visitor_session`] for callers that hold `session.gate`.
    async fn visitor_session_locked(self: &Arc<Self>) -> Result<VisitorSession> {
        let session = match self.session().current() {
            Some(s) => s,
            None => self.create_visitor_locked().await?,
        };
        if self.session().pending().is_some() {
            return Ok(self.complete_identify_locked().await?.0);
        }
        Ok(session)
    }

    /// `POST /v1/apps/{app}/visitors`, persisted before it is used. Caller holds `session.gate`.
    async fn create_visitor_locked(self: &Arc<Self>) -> Result<VisitorSession> {
        let path = format!("{}/visitors", self.app_path());
        let session: VisitorSession = self.http()?.post(&path, None, None::<&()>).await?;
        self.store().write(|tx| {
            local::save(tx, &session, now_ms())?;
            local::mark_unsynced(
                tx,
                &[local::META_SYNCED_PROPERTIES, local::META_SYNCED_DEVICE, local::META_SYNCED_PUSH],
            )
        })?;
        self.session().set_current(Some(session.clone()))?;
        tracing::info!(visitor = %session.visitor_id, "anonymous visitor created");
        self.after_session_change();
        Ok(session)
    }

    /// Called when the server refused `failed_token` with `invalid_token` or `identity_token_expired`: returns a
    /// session to retry with. An identified user is re-identified with a fresh token from the provider (its data is
    /// kept: same user); an anonymous visitor the server no longer knows is replaced (its local rows are wiped: its
    /// conversations are gone on the server too).
    pub(crate) async fn renew_session(self: &Arc<Self>, failed_token: &str) -> Result<VisitorSession> {
        let _gate = self.session().gate.lock().await;
        let Some(current) = self.session().current() else {
            return self.visitor_session_locked().await;
        };
        if current.visitor_token != failed_token {
            // Someone renewed it while this caller was waiting.
            return self.visitor_session_locked().await;
        }
        match &current.user_id {
            Some(user_id) => {
                let token = self.ask_provider(user_id).await?;
                self.store().write(|tx| {
                    tx.execute("DELETE FROM session", [])?;
                    identity::save_pending(tx, &token, user_id)
                })?;
                self.session().set_current(None)?;
                self.session().set_pending(Some(PendingIdentity { token, user_id: user_id.clone() }))?;
                self.visitor_session_locked().await
            }
            None => {
                tracing::warn!("the server no longer knows this anonymous visitor; starting a new one");
                self.store().write(local::wipe_visitor)?;
                self.session().set_current(None)?;
                self.session().bump_epoch();
                self.create_visitor_locked().await
            }
        }
    }

    /// After a new visitor or an identification: push what the server lacks (device, properties, push token) and
    /// retry server-side cleanups, in the background.
    fn after_session_change(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let _ = self.spawn(async move {
            let Some(inner) = weak.upgrade() else { return };
            if let Err(e) = inner.flush_cleanups().await {
                tracing::debug!(error = %e, "server-side cleanup postponed");
            }
            if let Err(e) = inner.sync_profile().await {
                tracing::debug!(error = %e, "profile sync postponed");
            }
        });
    }
}

impl crate::client::ChatClient {
    /// The session as the app may see it (no token), without network. `None` before the first need.
    pub fn session_info(&self) -> Option<SessionInfo> {
        let pending = self.inner.session().pending();
        match self.inner.session().current() {
            Some(s) => Some(SessionInfo {
                visitor_id: Some(s.visitor_id),
                user_id: s.user_id.or_else(|| pending.as_ref().map(|p| p.user_id.clone())),
                email: s.email,
                identify_pending: pending.is_some(),
            }),
            None => pending.map(|p| SessionInfo {
                visitor_id: None,
                user_id: Some(p.user_id),
                email: None,
                identify_pending: true,
            }),
        }
    }

    /// Creates the anonymous visitor now if there is none (otherwise done on first need) and completes a pending
    /// identification. Returns what [`Self::session_info`] would.
    pub async fn ensure_session(&self) -> Result<SessionInfo> {
        self.run(|inner| async move { inner.visitor_session().await.map(|_| ()) }).await?;
        self.session_info().ok_or(Error::Closed)
    }

    /// Installs (or removes) the callback that hands the SDK a fresh identity token when the server reports the
    /// current one expired.
    pub fn set_identity_token_provider(&self, provider: Option<Arc<dyn IdentityTokenProvider>>) -> Result<()> {
        self.inner.session().set_provider(provider)
    }
}
