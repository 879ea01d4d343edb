//! Attachments over HTTP: resumable uploads (`uploads`, the streamed `PATCH` in `patch`), downloads, the expiry
//! sweeper and the per-app size limit. The rules live in `crate::domain::attachments`.

pub mod download;
pub mod inflight;
pub mod limits;
pub mod patch;
pub mod sweeper;
pub mod thumbs;
pub mod uploads;

use chatflow_protocol::attachment::DEFAULT_MAX_ATTACHMENT_BYTES;

use crate::domain::attachments::Refusal;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::attachments::Owner;

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(r.code, r.message)
    }
}

/// The uploader a request speaks for, and its app.
#[derive(Debug, Clone)]
pub struct Uploader {
    pub owner: Owner,
    pub app_id: String,
}

impl From<&crate::auth::VisitorAuth> for Uploader {
    fn from(a: &crate::auth::VisitorAuth) -> Self {
        Uploader { owner: Owner::Visitor(a.visitor.id.clone()), app_id: a.visitor.app_id.clone() }
    }
}

impl From<&crate::auth::AgentAuth> for Uploader {
    fn from(a: &crate::auth::AgentAuth) -> Self {
        Uploader { owner: Owner::Agent(a.agent.id.clone()), app_id: a.agent.app_id.clone() }
    }
}

/// The app's largest file (its admin's setting, or the protocol's default).
pub async fn max_bytes(state: &AppState, app_id: &str) -> Result<u64, ApiError> {
    let app = app_id.to_owned();
    Ok(state.db(move |s| s.attachment_max_bytes(&app)).await?.unwrap_or(DEFAULT_MAX_ATTACHMENT_BYTES))
}
