//! Apple Push Notification service with token-based authentication: an ES256 provider token (`kid` = key id, `iss` =
//! team id), reused for 50 minutes (Apple refuses tokens older than an hour and throttles fresher ones), over HTTP/2.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::keys;
use super::payload::Push;
use super::provider::{by_status, network, unix_now, Outcome, PushProvider, SendFuture};
use crate::store::push::{ApnsCredentials, ApnsEnvironment, PushCredentials};

pub const PRODUCTION_URL: &str = "https://api.push.apple.com";
pub const SANDBOX_URL: &str = "https://api.sandbox.push.apple.com";
const TOKEN_LIFETIME: Duration = Duration::from_secs(50 * 60);

pub struct Apns {
    /// An HTTP/2-only client: APNs speaks nothing else.
    http: reqwest::Client,
    /// Replaces both environments' hosts (tests, proxies).
    base_url: Option<String>,
    /// (team id, key id) → (provider token, issued at).
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl Apns {
    pub fn new(http: reqwest::Client, base_url: Option<String>) -> Self {
        Apns {
            http,
            base_url: base_url.map(|u| u.trim_end_matches('/').to_owned()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    async fn provider_token(&self, c: &ApnsCredentials) -> Result<String, Outcome> {
        let key = (c.team_id.clone(), c.key_id.clone());
        let mut cache = self.tokens.lock().await;
        if let Some((token, issued)) = cache.get(&key) {
            if issued.elapsed() < TOKEN_LIFETIME {
                return Ok(token.clone());
            }
        }
        let ec = keys::ec_key(&c.private_key).map_err(|e| Outcome::Failed(format!("APNs key: {e}")))?;
        let jwt = keys::sign_es256(&ec, &c.key_id, &serde_json::json!({"iss": c.team_id, "iat": unix_now()}))
            .map_err(Outcome::Failed)?;
        cache.insert(key, (jwt.clone(), Instant::now()));
        Ok(jwt)
    }

    async fn send_one(&self, c: &ApnsCredentials, token: &str, push: &Push) -> Outcome {
        let jwt = match self.provider_token(c).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let base = self.base_url.as_deref().unwrap_or(match c.environment {
            ApnsEnvironment::Production => PRODUCTION_URL,
            ApnsEnvironment::Sandbox => SANDBOX_URL,
        });
        let resp = self
            .http
            .post(format!("{base}/3/device/{token}"))
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-push-type", "alert")
            .header("apns-topic", &c.topic)
            .header("apns-priority", "10")
            .header("apns-collapse-id", &push.conversation_id)
            .json(&push.apns_payload())
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return network(e),
        };
        let (status, headers) = (resp.status(), resp.headers().clone());
        if status.is_success() {
            return Outcome::Sent;
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let reason = body["reason"].as_str().unwrap_or("").to_owned();
        if status == reqwest::StatusCode::GONE || reason == "BadDeviceToken" || reason == "Unregistered" {
            return Outcome::DeadToken;
        }
        if reason == "ExpiredProviderToken" || reason == "InvalidProviderToken" {
            // A fresh token on the next attempt; a key that stays invalid ends after the bounded retries.
            self.tokens.lock().await.remove(&(c.team_id.clone(), c.key_id.clone()));
            return Outcome::Retry { after: None, reason: format!("APNs: {reason}") };
        }
        by_status(status, &headers, &reason)
    }
}

impl PushProvider for Apns {
    fn send<'a>(&'a self, credentials: &'a PushCredentials, token: &'a str, push: &'a Push) -> SendFuture<'a> {
        Box::pin(async move {
            match &credentials.apns {
                Some(c) => self.send_one(c, token, push).await,
                None => Outcome::Failed("the app has no APNs credentials".into()),
            }
        })
    }
}
