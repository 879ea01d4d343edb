//! Firebase Cloud Messaging, HTTP v1: the service account signs an RS256 assertion, Google's OAuth2 endpoint trades it
//! for an access token (cached until shortly before it expires), and `POST /v1/projects/{id}/messages:send` sends a
//! data message.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use super::keys;
use super::payload::Push;
use super::provider::{by_status, network, unix_now, Outcome, PushProvider, SendFuture};
use crate::store::push::{FcmCredentials, PushCredentials};

pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
/// A cached access token is renewed this long before it expires.
const EARLY: Duration = Duration::from_secs(60);

pub struct Fcm {
    http: reqwest::Client,
    base_url: String,
    /// Replaces every service account's `token_uri` (tests, proxies).
    oauth_url: Option<String>,
    /// (client email, token endpoint) → (access token, valid until). Held while fetching, so a burst of pushes asks
    /// for one token, not one each.
    tokens: Mutex<HashMap<(String, String), (String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Fcm {
    pub fn new(http: reqwest::Client, base_url: &str, oauth_url: Option<String>) -> Self {
        Fcm { http, base_url: base_url.trim_end_matches('/').to_owned(), oauth_url, tokens: Mutex::new(HashMap::new()) }
    }

    fn token_uri<'a>(&'a self, c: &'a FcmCredentials) -> &'a str {
        self.oauth_url.as_deref().unwrap_or(&c.token_uri)
    }

    async fn access_token(&self, c: &FcmCredentials) -> Result<String, Outcome> {
        let uri = self.token_uri(c).to_owned();
        let key = (c.client_email.clone(), uri.clone());
        let mut cache = self.tokens.lock().await;
        if let Some((token, until)) = cache.get(&key) {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let rsa = keys::rsa_key(&c.private_key).map_err(|e| Outcome::Failed(format!("FCM key: {e}")))?;
        let now = unix_now();
        let claims = serde_json::json!({
            "iss": c.client_email, "scope": SCOPE, "aud": uri, "iat": now, "exp": now + 3600,
        });
        let assertion = keys::sign_rs256(&rsa, &claims).map_err(Outcome::Failed)?;
        let resp = self
            .http
            .post(&uri)
            .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", &assertion)])
            .send()
            .await
            .map_err(network)?;
        let (status, headers) = (resp.status(), resp.headers().clone());
        if !status.is_success() {
            let outcome = by_status(status, &headers, "from the OAuth2 token endpoint");
            return Err(outcome);
        }
        let body: TokenResponse = resp.json().await.map_err(|e| Outcome::Retry {
            after: None,
            reason: format!("OAuth2 token response: {}", e.without_url()),
        })?;
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600)).saturating_sub(EARLY);
        cache.insert(key, (body.access_token.clone(), Instant::now() + lifetime));
        Ok(body.access_token)
    }

    async fn forget_token(&self, c: &FcmCredentials) {
        self.tokens.lock().await.remove(&(c.client_email.clone(), self.token_uri(c).to_owned()));
    }

    async fn send_one(&self, c: &FcmCredentials, token: &str, push: &Push) -> Outcome {
        let access = match self.access_token(c).await {
            Ok(t) => t,
            Err(outcome) => return outcome,
        };
        let url = format!("{}/v1/projects/{}/messages:send", self.base_url, c.project_id);
        let resp = match self.http.post(url).bearer_auth(access).json(&push.fcm_message(token)).send().await {
            Ok(r) => r,
            Err(e) => return network(e),
        };
        let (status, headers) = (resp.status(), resp.headers().clone());
        if status.is_success() {
            return Outcome::Sent;
        }
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let error_code = body["error"]["details"]
            .as_array()
            .and_then(|d| d.iter().find_map(|x| x["errorCode"].as_str()))
            .unwrap_or_else(|| body["error"]["status"].as_str().unwrap_or(""))
            .to_owned();
        if status == reqwest::StatusCode::NOT_FOUND || error_code == "UNREGISTERED" {
            return Outcome::DeadToken;
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // The access token was revoked or expired early: the next attempt fetches a new one.
            self.forget_token(c).await;
            return Outcome::Retry { after: None, reason: "FCM refused the access token".into() };
        }
        by_status(status, &headers, &error_code)
    }
}

impl PushProvider for Fcm {
    fn send<'a>(&'a self, credentials: &'a PushCredentials, token: &'a str, push: &'a Push) -> SendFuture<'a> {
        Box::pin(async move {
            match &credentials.fcm {
                Some(c) => self.send_one(c, token, push).await,
                None => Outcome::Failed("the app has no FCM credentials".into()),
            }
        })
    }
}
