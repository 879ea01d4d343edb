//! What the server knows about the visitor besides conversations: chat properties (the email among them), the
//! device description from the platform facade, and the push token.
//!
//! Local first: every setter validates, commits locally and returns; the server is told right away when a visitor
//! exists, otherwise when it is created (setters never create a visitor: an app that reports its device at launch
//! must not create a visitor for users who never chat). A failed push is retried on the next session change.
//! What was last pushed is kept per visitor (`visitor.synced.*` meta keys hold the pushed JSON), so a value changed
//! during a push is pushed again rather than marked done.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rusqlite::Transaction;

use chatflow_protocol::limits::{
    MAX_PROPERTIES, MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS, MAX_PUSH_TOKEN_CHARS,
};
use chatflow_protocol::{ChatProperties, DeviceInfo, EmailCaptureMode, PushPlatform, PushTokenRequest};

use super::local;
use crate::client::{ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::store::meta_set;

/// The chat property that holds the visitor's email (from `provide_email` or `identify`).
pub const EMAIL_PROPERTY: &str = "email";
/// Longest device field the server accepts.
const MAX_DEVICE_FIELD_CHARS: usize = 128;
/// Longest email address (RFC 5321 path limit).
const MAX_EMAIL_CHARS: usize = 254;

/// Whether the UI should ask for the visitor's email now (see `ChatClient::email_capture_prompt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailPrompt {
    pub mode: EmailCaptureMode,
    /// The chatflow's text for the request.
    pub prompt: String,
    /// Ask now: the rule says so (`always`, or `when_away` while the team is away) and no email is known yet.
    pub ask_now: bool,
    /// The email already known (property or identity), if any.
    pub known_email: Option<String>,
}

/// Pure rule: should the email be asked now?
pub(crate) fn should_ask_email(mode: EmailCaptureMode, team_available: bool, known: bool) -> bool {
    !known
        && match mode {
            EmailCaptureMode::Never => false,
            EmailCaptureMode::WhenAway => !team_available,
            EmailCaptureMode::Always => true,
        }
}

/// A plausible address: one `@`, a non-empty local part, a dotted domain, no spaces or control characters. (The
/// real check is the mail the business sends; this catches typos before they are stored.)
pub(crate) fn validate_email(email: &str) -> Result<()> {
    let bad = |why: &str| Error::InvalidInput {
        field: "email",
        message: format!("`{}` is not an email address: {why}", email.chars().take(80).collect::<String>()),
    };
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(bad("longer than 254 characters"));
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("it contains spaces"));
    }
    let Some((local, domain)) = email.split_once('@') else { return Err(bad("no `@`")) };
    if local.is_empty() || domain.contains('@') {
        return Err(bad("expected exactly one `@` after a non-empty name"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
        return Err(bad("the domain must look like `example.com`"));
    }
    Ok(())
}

fn validate_property(key: &str, value: &str) -> Result<()> {
    let n = key.chars().count();
    if n == 0 || n > MAX_PROPERTY_KEY_CHARS {
        return Err(Error::InvalidInput {
            field: "properties",
            message: format!("key `{key}` must be 1 to {MAX_PROPERTY_KEY_CHARS} characters, it has {n}"),
        });
    }
    if value.chars().count() > MAX_PROPERTY_VALUE_CHARS {
        return Err(Error::InvalidInput {
            field: "properties",
            message: format!("the value of `{key}` is longer than {MAX_PROPERTY_VALUE_CHARS} characters"),
        });
    }
    Ok(())
}

pub(crate) fn put_property(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO properties (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

pub(crate) fn properties(conn: &rusqlite::Connection) -> Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare_cached("SELECT key, value FROM properties")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn validate_device(d: &DeviceInfo) -> Result<()> {
    if d.platform.trim().is_empty() {
        return Err(Error::InvalidInput {
            field: "device_info",
            message: "platform must not be empty (`android`, `ios`, …)".into(),
        });
    }
    for (name, value) in [
        ("platform", &d.platform),
        ("os_version", &d.os_version),
        ("app_version", &d.app_version),
        ("device_model", &d.device_model),
        ("locale", &d.locale),
        ("sdk_version", &d.sdk_version),
    ] {
        if value.chars().count() > MAX_DEVICE_FIELD_CHARS {
            return Err(Error::InvalidInput {
                field: "device_info",
                message: format!("{name} is longer than {MAX_DEVICE_FIELD_CHARS} characters"),
            });
        }
    }
    Ok(())
}

impl ClientInner {
    /// Pushes the properties, device and push token the server lacks for the current visitor. No visitor: nothing to
    /// do (they go when it is created). Stops at the first failure; what was pushed stays marked.
    pub(crate) async fn sync_profile(self: &Arc<Self>) -> Result<()> {
        let Some(session) = self.session().current() else { return Ok(()) };
        if self.session().pending().is_some() {
            // The identification will replace the visitor; push to the final one.
            return Ok(());
        }
        let epoch = self.session().epoch();
        let (props, device, push) = self.store().read(|c| {
            let props = serde_json::to_string(&ChatProperties { properties: properties(c)? })?;
            Ok((props, local::meta_get(c, local::META_DEVICE_INFO)?, local::meta_get(c, local::META_PUSH_TOKEN)?))
        })?;
        let items = [
            (local::META_SYNCED_PROPERTIES, "/v1/visitor/properties", Some(props)),
            (local::META_SYNCED_DEVICE, "/v1/visitor/device", device),
            (local::META_SYNCED_PUSH, "/v1/visitor/push-token", push),
        ];
        for (marker, path, payload) in items {
            let Some(payload) = payload else { continue };
            if self.store().meta_get(marker)?.as_deref() == Some(payload.as_str()) {
                continue;
            }
            let body: serde_json::Value = serde_json::from_str(&payload)?;
            let _: serde_json::Value = self.http()?.put(path, Some(&session.visitor_token), &body).await?;
            self.store().write(|tx| {
                // A logout or switch during the request: the marker would describe the next visitor. Skip it.
                if self.session().epoch() == epoch {
                    meta_set(tx, marker, &payload)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Local commit done: tell the server now if possible; a network failure is retried later, not reported.
    async fn push_profile_soon(self: &Arc<Self>) -> Result<()> {
        match self.sync_profile().await {
            Err(e) if e.is_recoverable() => {
                tracing::debug!(error = %e, "profile sync postponed");
                Ok(())
            }
            Err(e) if super::is_session_refusal(&e) => {
                let token = self.session().current().map(|s| s.visitor_token).unwrap_or_default();
                self.renew_session(&token).await?;
                self.sync_profile().await
            }
            other => other,
        }
    }
}

impl ChatClient {
    /// Sets (adds or overwrites) chat properties; keys not named keep their value. An empty value clears a key.
    /// Stored locally at once, sent to the server when a visitor exists (now, or when it is created).
    pub async fn set_chat_properties(&self, properties: HashMap<String, String>) -> Result<()> {
        for (k, v) in &properties {
            validate_property(k, v)?;
        }
        self.inner.store().write(|tx| {
            for (k, v) in &properties {
                if v.is_empty() {
                    tx.execute("DELETE FROM properties WHERE key = ?1", [k])?;
                } else {
                    put_property(tx, k, v)?;
                }
            }
            let n: usize = tx.query_row("SELECT COUNT(*) FROM properties", [], |r| r.get(0))?;
            if n > MAX_PROPERTIES {
                // Returning an error rolls the whole change back.
                return Err(Error::InvalidInput {
                    field: "properties",
                    message: format!("the visitor would have {n} properties; at most {MAX_PROPERTIES}"),
                });
            }
            Ok(())
        })?;
        self.run(|inner| async move { inner.push_profile_soon().await }).await
    }

    /// The chat properties as stored locally.
    pub fn chat_properties(&self) -> Result<HashMap<String, String>> {
        Ok(self.inner.store().read(properties)?.into_iter().collect())
    }

    /// Records what the platform facade knows about the device (platform, OS and app versions, model, locale).
    /// `sdk_version` is filled in when empty. Kept across logouts and sent to every new visitor.
    pub async fn set_device_info(&self, mut device: DeviceInfo) -> Result<()> {
        if device.sdk_version.is_empty() {
            device.sdk_version = env!("CARGO_PKG_VERSION").to_owned();
        }
        validate_device(&device)?;
        let json = serde_json::to_string(&device)?;
        self.inner.store().meta_set(local::META_DEVICE_INFO, &json)?;
        self.run(|inner| async move { inner.push_profile_soon().await }).await
    }

    /// Registers the device's push token (FCM or APNs). Kept across logouts: each new visitor gets it, and logout
    /// removes it from the previous visitor on the server.
    pub async fn register_push_token(&self, token: String, platform: PushPlatform) -> Result<()> {
        let n = token.chars().count();
        if token.trim().is_empty() || n > MAX_PUSH_TOKEN_CHARS {
            return Err(Error::InvalidInput {
                field: "push_token",
                message: format!("must be 1 to {MAX_PUSH_TOKEN_CHARS} characters, got {n}"),
            });
        }
        let json = serde_json::to_string(&PushTokenRequest { token, platform })?;
        self.inner.store().meta_set(local::META_PUSH_TOKEN, &json)?;
        self.run(|inner| async move { inner.push_profile_soon().await }).await
    }

    /// Validates `email` and stores it as the visitor's `email` chat property (sent like the other properties).
    pub async fn provide_email(&self, email: String) -> Result<()> {
        let email = email.trim().to_owned();
        validate_email(&email)?;
        self.set_chat_properties(HashMap::from([(EMAIL_PROPERTY.to_owned(), email)])).await
    }

    /// The email known for the visitor: the `email` property, else the identity's email.
    pub fn known_email(&self) -> Result<Option<String>> {
        let prop = self.inner.store().read(|c| Ok(properties(c)?.remove(EMAIL_PROPERTY)))?;
        Ok(prop.or_else(|| self.inner.session().current().and_then(|s| s.email)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rule_table() {
        use EmailCaptureMode::*;
        // (mode, team available, email known) -> ask now
        let cases = [
            (Never, true, false, false),
            (Never, false, false, false),
            (WhenAway, true, false, false),
            (WhenAway, false, false, true),
            (WhenAway, false, true, false),
            (Always, true, false, true),
            (Always, false, false, true),
            (Always, true, true, false),
        ];
        for (mode, available, known, expected) in cases {
            assert_eq!(should_ask_email(mode, available, known), expected, "{mode:?} {available} {known}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@sub.example.org", "x@xn--bcher-kva.ch"] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("", "no `@`"),
            ("plain", "no `@`"),
            ("@example.com", "exactly one"),
            ("a@b@c.com", "exactly one"),
            ("a@localhost", "domain"),
            ("a@.com", "domain"),
            ("a b@c.com", "spaces"),
            ("a@-x.com", "domain"),
        ] {
            let msg = validate_email(bad).unwrap_err().to_string();
            assert!(msg.contains(why) && msg.contains("email"), "{bad}: {msg}");
        }
        assert!(validate_email(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn property_and_device_limits() {
        assert!(validate_property("plan", "gold").is_ok());
        assert!(validate_property("", "x").unwrap_err().to_string().contains("1 to 64"));
        assert!(validate_property(&"k".repeat(65), "x").is_err());
        assert!(validate_property("k", &"v".repeat(1001)).unwrap_err().to_string().contains("longer than 1000"));
        let mut d = DeviceInfo { platform: "ios".into(), ..Default::default() };
        assert!(validate_device(&d).is_ok());
        d.device_model = "m".repeat(129);
        assert!(validate_device(&d).unwrap_err().to_string().contains("device_model"));
        assert!(validate_device(&DeviceInfo::default()).unwrap_err().to_string().contains("platform"));
    }
}
