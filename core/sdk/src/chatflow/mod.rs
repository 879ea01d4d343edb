//! Chatflows: the cached list ([`cache`]), resolution of a mobile tag ([`resolve`], pure and table-tested), and the
//! UI-facing record of the result ([`model`]).
//!
//! `resolve` never needs the network: it reads the cached list (`refresh_chatflows` fills it, with ETag/304) and
//! reports how old that cache is. An app typically calls `refresh_chatflows` at launch (ignoring network errors) and
//! `resolve` whenever it shows a chat entry point.

pub mod cache;
pub mod model;
pub mod resolve;

use std::collections::HashMap;

use chatflow_protocol::{Chatflow, DeviceInfo};

pub use cache::{CacheInfo, RefreshOutcome};
pub use model::{
    AvailabilityInfo, BotOptions, ChatflowResolution, ConsentRequirements, EmailCaptureInfo, Header, ResolveOutcome,
    ResolvedChatflow,
};
pub use resolve::{Candidate, Explanation, Resolution, TeamStatus, Verdict};

use crate::client::{now_ms, ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::session::local::META_DEVICE_INFO;
use crate::session::EmailPrompt;

/// Whether the team of `flow` is available at `now` by its rules (a recent team status counts; an unreadable
/// schedule counts as available, as resolution does).
pub(crate) fn available_now(flow: &Chatflow, statuses: &HashMap<i64, TeamStatus>, now: i64) -> bool {
    let status = statuses.get(&flow.id).filter(|s| now.saturating_sub(s.fetched_at) <= resolve::STATUS_MAX_AGE_MS);
    flow.availability.at(now, status.map(|s| s.available)).map(|a| a.available).unwrap_or(true)
}

impl ClientInner {
    /// One cached chatflow by id (for consent, the send queue, …). No network.
    pub(crate) fn cached_chatflow(&self, id: i64) -> Result<Chatflow> {
        self.store().read(|c| cache::get(c, id))?.ok_or_else(|| Error::NotFound {
            what: format!("chatflow {id} (not in the cached list: refresh_chatflows first)"),
        })
    }

    /// The languages to resolve with: the caller's, else the config's `language`, else the device locale.
    fn preferred_languages(&self, languages: Vec<String>) -> Result<Vec<String>> {
        if !languages.is_empty() {
            return Ok(languages);
        }
        if let Some(l) = &self.config().language {
            return Ok(vec![l.clone()]);
        }
        let locale = self
            .store()
            .meta_get(META_DEVICE_INFO)?
            .and_then(|j| serde_json::from_str::<DeviceInfo>(&j).ok())
            .map(|d| d.locale)
            .filter(|l| !l.is_empty());
        Ok(locale.into_iter().collect())
    }

    fn explain_at(&self, tag: Option<String>, languages: Vec<String>, now: i64) -> Result<(Explanation, CacheInfo)> {
        let tag = tag.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| self.config().default_tag.clone());
        let languages = self.preferred_languages(languages)?;
        let ((flows, statuses), info) = self.store().read(|c| Ok((cache::load(c)?, cache::info(c, now)?)))?;
        Ok((resolve::explain(&flows, &statuses, &tag, &languages, now), info))
    }
}

impl ChatClient {
    /// Fetches the app's chatflows (ETag: a 304 only refreshes the cache age) and team statuses into the cache.
    pub async fn refresh_chatflows(&self) -> Result<RefreshOutcome> {
        self.run(|inner| async move { inner.refresh_chatflows().await }).await
    }

    /// Resolves `tag` (`None` or blank: the config's `default_tag`) for the visitor's preferred `languages` (ordered;
    /// empty: the config's `language`, else the device locale) from the cache, now. No network.
    pub fn resolve(&self, tag: Option<String>, languages: Vec<String>) -> Result<ChatflowResolution> {
        self.resolve_at(tag, languages, now_ms())
    }

    /// [`Self::resolve`] at a given instant (Unix ms): previews and tests.
    pub fn resolve_at(&self, tag: Option<String>, languages: Vec<String>, now_ms: i64) -> Result<ChatflowResolution> {
        let (e, cache) = self.inner.explain_at(tag, languages, now_ms)?;
        let outcome = match e.outcome {
            Resolution::Found { chatflow, availability } => {
                ResolveOutcome::Found(Box::new(ResolvedChatflow::new(&chatflow, availability)))
            }
            Resolution::NotFound { tag } => ResolveOutcome::NotFound { tag },
            Resolution::AllHidden { tag, next_change_at } => ResolveOutcome::AllHidden { tag, next_change_at },
        };
        Ok(ChatflowResolution { outcome, cache })
    }

    /// Every chatflow carrying `tag` and why it was kept or dropped, plus the tags that exist. For debugging a setup.
    pub fn explain(&self, tag: Option<String>, languages: Vec<String>) -> Result<Explanation> {
        Ok(self.inner.explain_at(tag, languages, now_ms())?.0)
    }

    /// How old the cached chatflow list is.
    pub fn chatflow_cache_info(&self) -> Result<CacheInfo> {
        self.inner.store().read(|c| cache::info(c, now_ms()))
    }

    /// Whether the UI should ask for the visitor's email now on chatflow `chatflow_id`: its rule (`never`,
    /// `when_away`, `always`) against availability now, unless an email is already known.
    pub fn email_capture_prompt(&self, chatflow_id: i64) -> Result<EmailPrompt> {
        let f = self.inner.cached_chatflow(chatflow_id)?;
        let (_, statuses) = self.inner.store().read(cache::load)?;
        let available = available_now(&f, &statuses, now_ms());
        let known_email = self.known_email()?;
        Ok(EmailPrompt {
            mode: f.email_capture.mode,
            prompt: f.email_capture.prompt.clone(),
            ask_now: crate::session::should_ask_email(f.email_capture.mode, available, known_email.is_some()),
            known_email,
        })
    }
}
