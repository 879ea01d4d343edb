//! Incomplete uploads expire 24 h after their last byte: a background task removes their partial files and rows.

use std::time::Duration;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::attachments::UploadRecord;

/// How often the sweeper looks for expired uploads. Expiry itself is exact: an expired upload is `not_found` at
/// once; the sweep only frees the disk.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Removes an upload's partial file and its row (refused bytes, expiry, a declaration over an expired one).
pub async fn discard(state: &AppState, upload: &UploadRecord) -> Result<(), ApiError> {
    let path = super::patch::partial_path(state, upload);
    tokio::task::spawn_blocking(move || match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| ApiError::internal(format!("removing a partial upload: {e}")))?;
    let (owner, id) = (upload.owner.clone(), upload.upload_id.clone());
    state.uploads_in_flight.forget(&owner, &id);
    state.db(move |s| s.delete_upload(&owner, &id)).await
}

/// One sweep: discards every upload expired at `now`. Returns how many.
pub async fn sweep_once(state: &AppState) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let now = state.now_ms();
        let expired = state.db(move |s| s.expired_uploads(now, 100)).await?;
        if expired.is_empty() {
            return Ok(total);
        }
        for upload in &expired {
            discard(state, upload).await?;
        }
        total += expired.len();
    }
}

/// Starts the sweeper (one per server; the store's single writer makes a sweep safe to run anywhere).
pub fn start(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            match sweep_once(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(uploads = n, "expired uploads removed"),
                Err(e) => tracing::warn!(error = %e.message, "upload sweep failed"),
            }
        }
    });
}
