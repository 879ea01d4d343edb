//! Identification: binding the session to a user of the app with an identity token (HS256 JWT signed by the app's
//! backend), the merge the server performs, and fresh tokens from the app's provider when one expired.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rusqlite::Transaction;

use chatflow_protocol::{ErrorCode, IdentifyRequest, IdentifyResponse, VisitorSession};

use super::{local, PendingIdentity};
use crate::client::{now_ms, ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::store::meta_set;

/// The app's source of fresh identity tokens (its backend signs them). Called on an SDK worker thread when the server
/// reports the token expired; it may block (e.g. a network call to the app's backend).
pub trait IdentityTokenProvider: Send + Sync {
    /// A fresh identity token for `user_id` (the `sub` of the expired one).
    fn fresh_identity_token(&self, user_id: String) -> std::result::Result<String, TokenProviderError>;
}

/// Why the app could not hand out a token (e.g. the user signed out of the app meanwhile).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TokenProviderError {
    pub message: String,
}

/// What `identify` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifyOutcome {
    /// The user the token names (`sub`).
    pub user_id: String,
    /// The visitor now bound to the user; `None` while pending.
    pub visitor_id: Option<String>,
    /// Conversations of the anonymous visitor that the server moved to the user.
    pub merged_conversation_ids: Vec<String>,
    /// The previous user's local data was wiped (another user was identified on this device).
    pub switched_user: bool,
    /// The server could not be reached: identification completes on the next network need.
    pub pending: bool,
}

/// The `sub` claim of an identity token, read without verifying it (the server verifies). Used only to tell, before
/// any network call, whether the token names another user than the current one.
pub(crate) fn jwt_subject(token: &str) -> Result<String> {
    let bad = |why: &str| Error::InvalidInput {
        field: "identity_token",
        message: format!("{why}; expected the HS256 JWT your backend signs (header.payload.signature)"),
    };
    let mut parts = token.trim().split('.');
    let (Some(_), Some(payload), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad("not three dot-separated parts"));
    };
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).map_err(|_| bad("payload is not base64url"))?;
    #[derive(serde::Deserialize)]
    struct Claims {
        sub: Option<String>,
    }
    let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| bad("payload is not a JSON object"))?;
    match claims.sub {
        Some(sub) if !sub.trim().is_empty() => Ok(sub),
        _ => Err(bad("payload has no `sub` (user id) claim")),
    }
}

pub(crate) fn save_pending(tx: &Transaction<'_>, token: &str, user_id: &str) -> Result<()> {
    meta_set(tx, local::META_PENDING_IDENTITY, token)?;
    meta_set(tx, local::META_PENDING_USER, user_id)
}

fn clear_pending(tx: &Transaction<'_>) -> Result<()> {
    local::meta_delete(tx, local::META_PENDING_IDENTITY)?;
    local::meta_delete(tx, local::META_PENDING_USER)
}

impl ClientInner {
    /// Asks the app's provider for a fresh identity token for `user_id` (on a blocking thread: it may do I/O).
    pub(crate) async fn ask_provider(self: &Arc<Self>, user_id: &str) -> Result<String> {
        let Some(provider) = self.session().provider() else {
            return Err(Error::Server {
                status: 401,
                code: ErrorCode::IdentityTokenExpired,
                message: "the identity token expired and no identity token provider is set: call \
                          set_identity_token_provider() or identify() again with a fresh token"
                    .into(),
            });
        };
        let user = user_id.to_owned();
        let token = tokio::task::spawn_blocking(move || provider.fresh_identity_token(user))
            .await
            .map_err(|e| Error::internal(format!("the identity token provider panicked: {e}")))?
            .map_err(|e| Error::Server {
                status: 401,
                code: ErrorCode::IdentityTokenExpired,
                message: format!("the identity token expired and the app's provider gave none: {e}"),
            })?;
        let sub = jwt_subject(&token)?;
        if sub != user_id {
            return Err(Error::InvalidInput {
                field: "identity_token",
                message: format!(
                    "the provider returned a token for another user (asked for the expired user's id, got `{sub}`)"
                ),
            });
        }
        Ok(token)
    }

    /// Sends the pending identity token. Caller holds `session.gate`. On success the session row is replaced (the
    /// server revoked the anonymous token) and the pending token is dropped. A recoverable failure keeps it pending;
    /// a refusal drops it and is returned.
    pub(crate) async fn complete_identify_locked(self: &Arc<Self>) -> Result<(VisitorSession, Vec<String>)> {
        let mut asked_provider = false;
        let mut replaced_visitor = false;
        loop {
            let Some(pending) = self.session().pending() else {
                return Err(Error::internal("identification completed without a pending token"));
            };
            let session = match self.session().current() {
                Some(s) => s,
                None => Box::pin(self.create_visitor_locked()).await?,
            };
            let body = IdentifyRequest { identity_token: pending.token.clone() };
            let result: Result<IdentifyResponse> =
                self.http()?.post("/v1/visitor/identify", Some(&session.visitor_token), Some(&body)).await;
            match result {
                Ok(resp) => {
                    let epoch = self.session().epoch();
                    self.store().write(|tx| {
                        local::save(tx, &resp.session, now_ms())?;
                        clear_pending(tx)?;
                        // A new visitor id (the user's, from another device) knows nothing of this device yet.
                        local::mark_unsynced(
                            tx,
                            &[local::META_SYNCED_PROPERTIES, local::META_SYNCED_DEVICE, local::META_SYNCED_PUSH],
                        )
                    })?;
                    self.session().set_current(Some(resp.session.clone()))?;
                    self.session().set_pending(None)?;
                    if resp.session.visitor_id != session.visitor_id && epoch == self.session().epoch() {
                        // Same user, new visitor id: the data is the user's; realtime must reconnect as it.
                        self.session().bump_epoch();
                    }
                    tracing::info!(
                        visitor = %resp.session.visitor_id,
                        merged = resp.merged_conversation_ids.len(),
                        "identified"
                    );
                    self.after_session_change();
                    return Ok((resp.session, resp.merged_conversation_ids));
                }
                Err(Error::Server { code: ErrorCode::IdentityTokenExpired, .. }) if !asked_provider => {
                    asked_provider = true;
                    let fresh = self.ask_provider(&pending.user_id).await.inspect_err(|_| {
                        // Without a fresh token the pending one is useless; keep nothing half-done.
                        let _ = self.drop_pending();
                    })?;
                    self.store().write(|tx| save_pending(tx, &fresh, &pending.user_id))?;
                    self.session().set_pending(Some(PendingIdentity { token: fresh, user_id: pending.user_id }))?;
                }
                Err(Error::Server { code: ErrorCode::InvalidToken, .. }) if !replaced_visitor => {
                    // The anonymous visitor we hold is unknown to the server (deleted): identify from a new one.
                    replaced_visitor = true;
                    self.store().write(|tx| Ok(tx.execute("DELETE FROM session", [])?))?;
                    self.session().set_current(None)?;
                }
                Err(e) if e.is_recoverable() => return Err(e),
                Err(e) => {
                    self.drop_pending()?;
                    return Err(e);
                }
            }
        }
    }

    fn drop_pending(&self) -> Result<()> {
        self.store().write(clear_pending)?;
        self.session().set_pending(None)
    }
}

impl ChatClient {
    /// Binds the session to a user of the app. `identity_token` is the HS256 JWT the app's backend signed (claims
    /// `sub`, `aud` = app id, `email`, `iat`, `exp`); `email`, when given, is stored as the `email` chat property.
    ///
    /// * Same user as now (or first identification): the anonymous visitor's conversations move to the user.
    /// * Another user than the identified one: the previous user's local data is wiped first (in one transaction),
    ///   their push registration removed, and the new user starts from a fresh visitor — nothing of theirs shows.
    /// * Offline: returns `pending: true`; the identification completes on the next network need.
    /// * Expired token: the [`IdentityTokenProvider`] is asked once for a fresh one.
    pub async fn identify(&self, identity_token: String, email: Option<String>) -> Result<IdentifyOutcome> {
        let user_id = jwt_subject(&identity_token)?;
        if let Some(e) = &email {
            super::profile::validate_email(e)?;
        }
        self.run(move |inner| async move {
            let _gate = inner.session().gate.lock().await;
            let current_user =
                inner.session().current().and_then(|s| s.user_id).or(inner.session().pending().map(|p| p.user_id));
            let switched_user = current_user.is_some_and(|u| u != user_id);
            if switched_user {
                inner.end_session_locked(false).await?;
                // Unregister the previous user's push token now rather than in the background: until it is gone,
                // their notifications would still reach this device. Offline, it stays recorded and is retried.
                let cleanup = inner.flush_cleanups().await;
                inner.renew_files_after(cleanup);
            }
            inner.store().write(|tx| {
                save_pending(tx, &identity_token, &user_id)?;
                if let Some(e) = &email {
                    super::profile::put_property(tx, super::EMAIL_PROPERTY, e)?;
                }
                Ok(())
            })?;
            inner.session().set_pending(Some(PendingIdentity { token: identity_token, user_id: user_id.clone() }))?;
            match inner.complete_identify_locked().await {
                Ok((session, merged_conversation_ids)) => Ok(IdentifyOutcome {
                    user_id,
                    visitor_id: Some(session.visitor_id),
                    merged_conversation_ids,
                    switched_user,
                    pending: false,
                }),
                Err(e) if e.is_recoverable() => Ok(IdentifyOutcome {
                    user_id,
                    visitor_id: None,
                    merged_conversation_ids: Vec::new(),
                    switched_user,
                    pending: true,
                }),
                Err(e) => Err(e),
            }
        })
        .await
    }
}
