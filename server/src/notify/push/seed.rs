//! The seed's `push` block of an app. Keys are never written in the seed: it names a file (relative to the seed) or an
//! environment variable holding the service-account JSON or the `.p8` key. A named file that does not exist, or a
//! variable that is unset, turns that provider off with a warning (so the demo seed starts without real keys); a key
//! that is present but unusable stops the start with the seed's error.

use std::path::Path;

use serde::Deserialize;

use super::admin::{credentials_from, ApnsInput, FcmInput, PushConfigInput, ServiceAccount};
use crate::store::push::PushCredentials;
use crate::store::Store;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPush {
    #[serde(default)]
    pub previews: bool,
    #[serde(default)]
    pub fcm: Option<SeedFcm>,
    #[serde(default)]
    pub apns: Option<SeedApns>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFcm {
    /// The service-account JSON file, relative to the seed file.
    #[serde(default)]
    pub service_account_file: Option<String>,
    /// An environment variable holding the service-account JSON.
    #[serde(default)]
    pub service_account_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApns {
    pub team_id: String,
    pub key_id: String,
    pub topic: String,
    pub environment: String,
    /// The `.p8` file, relative to the seed file.
    #[serde(default)]
    pub private_key_file: Option<String>,
    /// An environment variable holding the `.p8` key (PEM).
    #[serde(default)]
    pub private_key_env: Option<String>,
}

/// The secret named by `file` or `env` (exactly one); `Ok(None)` when it is not there.
fn secret(seed: &Path, what: &str, file: Option<&str>, env: Option<&str>) -> Result<Option<String>, String> {
    match (file, env) {
        (Some(f), None) => {
            let path = seed.parent().unwrap_or(Path::new(".")).join(f);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::warn!(file = %path.display(), "{what}: file not found; that push provider stays off");
                    Ok(None)
                }
                Err(e) => Err(format!("{what}: cannot read {}: {e}", path.display())),
            }
        }
        (None, Some(var)) => match std::env::var(var) {
            Ok(text) if !text.trim().is_empty() => Ok(Some(text)),
            _ => {
                tracing::warn!(variable = var, "{what}: environment variable not set; that push provider stays off");
                Ok(None)
            }
        },
        _ => Err(format!("{what}: name exactly one of the file or the environment variable")),
    }
}

/// Reads the keys the block names and checks the configuration (before anything of the seed is stored).
pub fn prepare(seed: &Path, app_id: &str, push: SeedPush, now: i64) -> Result<PushCredentials, String> {
    let fcm = match push.fcm {
        None => None,
        Some(f) => secret(seed, "push.fcm", f.service_account_file.as_deref(), f.service_account_env.as_deref())?
            .map(|json| {
                serde_json::from_str::<ServiceAccount>(&json)
                    .map(|service_account| FcmInput { service_account })
                    .map_err(|e| format!("push.fcm: not a service-account JSON file ({e})"))
            })
            .transpose()?,
    };
    let apns =
        match push.apns {
            None => None,
            Some(a) => secret(seed, "push.apns", a.private_key_file.as_deref(), a.private_key_env.as_deref())?.map(
                |private_key| ApnsInput {
                    team_id: a.team_id,
                    key_id: a.key_id,
                    private_key,
                    topic: a.topic,
                    environment: a.environment,
                },
            ),
        };
    credentials_from(PushConfigInput { previews: push.previews, fcm, apns }, app_id, now)
        .map_err(|e| format!("push: {e}"))
}

/// Stores a prepared configuration (at every start, like the app's other secrets).
pub fn apply(store: &dyn Store, credentials: &PushCredentials) -> Result<(), String> {
    store.set_push_credentials(credentials).map_err(|e| format!("push: {e}"))?;
    tracing::info!(
        app = %credentials.app_id,
        fcm = credentials.fcm.is_some(),
        apns = credentials.apns.is_some(),
        "seed push configuration"
    );
    Ok(())
}
