//! The SDK config file the app ships (JSON), with validation that names the field, the value and what is expected.
//!
//! ```json
//! {
//!   "server_url": "https://chat.example.com",
//!   "app_id": "acme-shop",
//!   "environment": "production",
//!   "default_tag": "support",
//!   "language": "fr-CA",
//!   "extra_root_certificates": "-----BEGIN CERTIFICATE-----\nMIIB…\n-----END CERTIFICATE-----\n",
//!   "pinned_spki_sha256": ["r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E="]
//! }
//! ```
//!
//! * `server_url` — `https://…`, or `http://…` only to a loopback host (`127.0.0.1`, `::1`, `localhost`): plain HTTP
//!   would leak the visitor token on any real network. A path prefix (`https://x.com/chat`) is kept.
//! * `app_id` — the app (tenant) id from the admin tool; 1–64 characters of `[A-Za-z0-9_.-]` (it ends up in URLs).
//! * `environment` — one of [`Environment`]'s closed set: `production | staging | development`. The SDK reports it in
//!   logs and to the app; a typo (`prod`) is refused rather than silently treated as production.
//! * `default_tag` — the mobile tag resolved when the app asks for "the" chatflow without naming one; not blank.
//! * `language` — optional BCP 47 tag used when the app gives no preferred languages to `resolve`.
//! * `extra_root_certificates` — optional PEM text, one or more `CERTIFICATE` blocks (a CA bundle file's content): CAs
//!   trusted in addition to the platform's trust store, for a self-hosted server with a private CA.
//! * `pinned_spki_sha256` — optional list of base64 SHA-256 hashes of SubjectPublicKeyInfo; when not empty, a
//!   connection is accepted only if a certificate the server sends (leaf or intermediate) has one of them, after the
//!   normal verification. `transport::tls` explains both.
//!
//! Unknown fields are refused too: a misspelt optional field (`langauge`) would otherwise be ignored silently.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::transport::tls;

/// The validated config. Build it with [`Config::from_json_str`] / [`Config::from_file`], or construct it in code and
/// call [`Config::validate`] (the client does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub server_url: String,
    pub app_id: String,
    pub environment: Environment,
    pub default_tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_root_certificates: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pinned_spki_sha256: Vec<String>,
    /// Bound of the received-attachment cache, in bytes (default `attachments::DEFAULT_CACHE_BYTES`, 100 MiB);
    /// least recently used files go first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_cache_bytes: Option<i64>,
}

/// The closed set of environments a config may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    Staging,
    Development,
}

impl Environment {
    pub const ALL: [Environment; 3] = [Environment::Production, Environment::Staging, Environment::Development];

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Development => "development",
        }
    }

    fn parse(s: &str) -> Option<Environment> {
        Environment::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

const FIELDS: [&str; 8] = [
    "server_url",
    "app_id",
    "environment",
    "default_tag",
    "language",
    "extra_root_certificates",
    "pinned_spki_sha256",
    "attachment_cache_bytes",
];
const MAX_APP_ID_CHARS: usize = 64;

impl Config {
    /// Parses and validates a config file's text (errors call it "config").
    pub fn from_json_str(json: &str) -> Result<Config> {
        parse(json, "config")
    }

    /// Reads, parses and validates a config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config> {
        let path = path.as_ref();
        let source = format!("config file {}", path.display());
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config { message: format!("{source}: cannot be read ({e}); check the path") })?;
        parse(&text, &source)
    }

    /// Checks every field; the error names the first wrong one.
    pub fn validate(&self) -> Result<()> {
        self.validate_in("config")
    }

    fn validate_in(&self, source: &str) -> Result<()> {
        let bad = |field: &str, value: &str, expected: &str| Error::Config {
            message: format!("{source}: field `{field}` must be {expected}, got `{value}`"),
        };
        validate_server_url(&self.server_url).map_err(|expected| bad("server_url", &self.server_url, &expected))?;
        if self.app_id.is_empty()
            || self.app_id.chars().count() > MAX_APP_ID_CHARS
            || !self.app_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(bad(
                "app_id",
                &self.app_id,
                "the app id from the admin tool: 1 to 64 characters of letters, digits, `_`, `-` or `.`",
            ));
        }
        if self.default_tag.trim().is_empty() {
            return Err(bad("default_tag", &self.default_tag, "a non-empty mobile tag (e.g. `support`)"));
        }
        if let Some(lang) = &self.language {
            if !is_language_tag(lang) {
                return Err(bad("language", lang, "a BCP 47 language tag such as `en`, `fr` or `fr-CA`"));
            }
        }
        if let Some(pem) = &self.extra_root_certificates {
            // PEM text is long (and may hold a key pasted by mistake): say what is wrong, not the value.
            tls::parse_certificates(pem).map_err(|why| Error::Config {
                message: format!(
                    "{source}: field `extra_root_certificates` must be PEM text with one or more \
                     `-----BEGIN CERTIFICATE-----` blocks (the CA certificates to trust): {why}"
                ),
            })?;
        }
        for pin in &self.pinned_spki_sha256 {
            tls::parse_pin(pin).map_err(|why| Error::Config {
                message: format!(
                    "{source}: field `pinned_spki_sha256` must list base64 SHA-256 hashes of a certificate's \
                     SubjectPublicKeyInfo (44 characters ending in `=`): {why}"
                ),
            })?;
        }
        if let Some(bytes) = self.attachment_cache_bytes.filter(|b| *b <= 0) {
            return Err(bad("attachment_cache_bytes", &bytes.to_string(), "a positive number of bytes"));
        }
        Ok(())
    }
}

fn parse(json: &str, source: &str) -> Result<Config> {
    let value: Value = serde_json::from_str(json).map_err(|e| Error::Config {
        message: format!("{source}: is not valid JSON ({e}); expected an object with {}", FIELDS.join(", ")),
    })?;
    let Value::Object(obj) = value else {
        return Err(Error::Config {
            message: format!("{source}: must be a JSON object with {}, got {}", FIELDS.join(", "), kind_of(&value)),
        });
    };
    if let Some(unknown) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(Error::Config {
            message: format!("{source}: unknown field `{unknown}`; the known fields are {}", FIELDS.join(", ")),
        });
    }
    let environment = required_str(&obj, source, "environment", "one of production, staging, development")?;
    let environment = Environment::parse(&environment).ok_or_else(|| Error::Config {
        message: format!(
            "{source}: field `environment` must be one of production, staging, development, got `{environment}`"
        ),
    })?;
    let config = Config {
        server_url: required_str(&obj, source, "server_url", "an https:// URL (or http:// to 127.0.0.1/localhost)")?,
        app_id: required_str(&obj, source, "app_id", "the app id from the admin tool")?,
        environment,
        default_tag: required_str(&obj, source, "default_tag", "a non-empty mobile tag")?,
        language: optional_str(&obj, source, "language", "a BCP 47 language tag such as `fr-CA`")?,
        extra_root_certificates: optional_str(&obj, source, "extra_root_certificates", "PEM text of CA certificates")?,
        pinned_spki_sha256: optional_str_list(&obj, source, "pinned_spki_sha256", "base64 SHA-256 SPKI hashes")?,
        attachment_cache_bytes: optional_bytes(&obj, source, "attachment_cache_bytes")?,
    };
    config.validate_in(source)?;
    Ok(config)
}

fn optional_bytes(obj: &Map<String, Value>, source: &str, field: &str) -> Result<Option<i64>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().filter(|n| *n > 0).map(Some).ok_or_else(|| Error::Config {
            message: format!("{source}: field `{field}` must be a positive number of bytes, got `{v}`"),
        }),
    }
}

fn required_str(obj: &Map<String, Value>, source: &str, field: &str, expected: &str) -> Result<String> {
    match obj.get(field) {
        None => Err(Error::Config { message: format!("{source}: field `{field}` is missing; expected {expected}") }),
        Some(v) => as_string(v, source, field, expected),
    }
}

fn optional_str(obj: &Map<String, Value>, source: &str, field: &str, expected: &str) -> Result<Option<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_string(v, source, field, expected).map(Some),
    }
}

fn optional_str_list(obj: &Map<String, Value>, source: &str, field: &str, expected: &str) -> Result<Vec<String>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|v| as_string(v, source, field, expected)).collect(),
        Some(other) => Err(Error::Config {
            message: format!(
                "{source}: field `{field}` must be a list of strings ({expected}), got {} `{other}`",
                kind_of(other)
            ),
        }),
    }
}

fn as_string(v: &Value, source: &str, field: &str, expected: &str) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(Error::Config {
            message: format!(
                "{source}: field `{field}` must be a string ({expected}), got {} `{other}`",
                kind_of(other)
            ),
        }),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `Ok` when `url` is acceptable; otherwise what was expected (the caller adds field and value).
fn validate_server_url(url: &str) -> std::result::Result<(), String> {
    const EXPECTED: &str = "an https:// URL, or http:// to a loopback host (127.0.0.1, ::1, localhost)";
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{EXPECTED} (not a URL: {e})"))?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(format!("{EXPECTED} without query or fragment"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(format!("{EXPECTED} without credentials"));
    }
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" if parsed.host_str().is_some_and(is_loopback_host) => Ok(()),
        "http" => Err(format!(
            "{EXPECTED}: plain http:// is only allowed to the local machine because it would expose the \
                 visitor token on the network"
        )),
        _ => Err(EXPECTED.to_owned()),
    }
}

/// `localhost`, `127.x.x.x` or `[::1]` (as `Url::host_str` spells them).
fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Loose BCP 47 syntax: 2–3 (or 4–8) letter primary subtag, then 1–8 alphanumeric subtags separated by `-`.
pub(crate) fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let Some(primary) = parts.next() else { return false };
    (2..=8).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid config for unit tests elsewhere in the crate.
    pub(crate) fn config(server_url: &str) -> Config {
        Config {
            server_url: server_url.into(),
            app_id: "app".into(),
            environment: Environment::Development,
            default_tag: "support".into(),
            language: None,
            extra_root_certificates: None,
            pinned_spki_sha256: Vec::new(),
            attachment_cache_bytes: None,
        }
    }

    const GOOD: &str = r#"{"server_url":"https://chat.example.com","app_id":"acme","environment":"production",
        "default_tag":"support","language":"fr-CA"}"#;

    fn with(field: &str, value: Value) -> String {
        let mut v: Value = serde_json::from_str(GOOD).unwrap();
        v[field] = value;
        v.to_string()
    }

    fn without(field: &str) -> String {
        let mut v: Value = serde_json::from_str(GOOD).unwrap();
        v.as_object_mut().unwrap().remove(field);
        v.to_string()
    }

    fn err(json: &str) -> String {
        Config::from_json_str(json).unwrap_err().to_string()
    }

    #[test]
    fn a_good_config_parses() {
        let c = Config::from_json_str(GOOD).unwrap();
        assert_eq!(c.server_url, "https://chat.example.com");
        assert_eq!(c.environment, Environment::Production);
        assert_eq!(c.language.as_deref(), Some("fr-CA"));
        let c = Config::from_json_str(&without("language")).unwrap();
        assert_eq!(c.language, None);
        assert_eq!((c.extra_root_certificates, c.pinned_spki_sha256), (None, Vec::new()));
        let pin = "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=";
        let c = Config::from_json_str(&with("pinned_spki_sha256", serde_json::json!([pin]))).unwrap();
        assert_eq!(c.pinned_spki_sha256, vec![pin.to_owned()]);
    }

    #[test]
    fn a_config_built_in_code_is_checked_like_a_file() {
        // Kotlin and Swift build the record with a signed `Long`/`Int64`: a negative cache bound is refused.
        for bytes in [0, -1] {
            let c = Config { attachment_cache_bytes: Some(bytes), ..config("https://chat.example.com") };
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("`attachment_cache_bytes`") && e.contains("positive"), "{e}");
        }
        let e = err(&with("attachment_cache_bytes", (-5).into()));
        assert!(e.contains("`attachment_cache_bytes`") && e.contains("`-5`"), "{e}");
        let c = Config { attachment_cache_bytes: Some(1 << 20), ..config("https://chat.example.com") };
        assert!(c.validate().is_ok());
    }

    #[test]
    fn loopback_http_is_allowed() {
        for url in ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9000/prefix", "http://127.0.0.2"] {
            assert!(Config::from_json_str(&with("server_url", url.into())).is_ok(), "{url}");
        }
    }

    #[test]
    fn every_mistake_names_field_value_and_expectation() {
        // (json, substrings the message must contain)
        let cases: Vec<(String, Vec<&str>)> = vec![
            (without("server_url"), vec!["`server_url`", "missing", "https://"]),
            (without("app_id"), vec!["`app_id`", "missing"]),
            (without("environment"), vec!["`environment`", "missing", "production, staging, development"]),
            (without("default_tag"), vec!["`default_tag`", "missing"]),
            (with("server_url", "not a url".into()), vec!["`server_url`", "`not a url`", "not a URL"]),
            (with("server_url", "ftp://x".into()), vec!["`server_url`", "`ftp://x`", "https://"]),
            (with("server_url", "http://chat.example.com".into()), vec!["`http://chat.example.com`", "loopback"]),
            (with("server_url", "http://10.0.0.1".into()), vec!["`http://10.0.0.1`", "local machine"]),
            (with("server_url", "https://u:p@x.com".into()), vec!["`server_url`", "credentials"]),
            (with("server_url", 42.into()), vec!["`server_url`", "must be a string", "a number"]),
            (with("default_tag", "   ".into()), vec!["`default_tag`", "non-empty", "`   `"]),
            (with("environment", "prod".into()), vec!["`environment`", "`prod`", "production, staging, development"]),
            (with("app_id", "".into()), vec!["`app_id`", "``"]),
            (with("app_id", "a/b".into()), vec!["`app_id`", "`a/b`"]),
            (with("language", "français".into()), vec!["`language`", "`français`", "BCP 47"]),
            (with("langauge", "fr".into()), vec!["unknown field `langauge`", "language"]),
            ("{".into(), vec!["not valid JSON"]),
            ("[1]".into(), vec!["must be a JSON object", "an array"]),
            (
                with("extra_root_certificates", "MIIBxyz".into()),
                vec!["`extra_root_certificates`", "PEM text", "no `-----BEGIN CERTIFICATE-----` block"],
            ),
            (
                with(
                    "extra_root_certificates",
                    "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into(),
                ),
                vec!["`extra_root_certificates`", "not a CERTIFICATE"],
            ),
            (with("extra_root_certificates", 3.into()), vec!["`extra_root_certificates`", "must be a string"]),
            (
                with("pinned_spki_sha256", serde_json::json!(["abc"])),
                vec!["`pinned_spki_sha256`", "`abc`", "SubjectPublicKeyInfo"],
            ),
            (
                with("pinned_spki_sha256", "r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=".into()),
                vec!["`pinned_spki_sha256`", "must be a list of strings", "a string"],
            ),
            (with("pinned_spki_sha256", serde_json::json!([1])), vec!["`pinned_spki_sha256`", "a number"]),
        ];
        for (json, needles) in cases {
            let msg = err(&json);
            for n in needles {
                assert!(msg.contains(n), "{json}: `{msg}` lacks `{n}`");
            }
        }
    }

    #[test]
    fn files_unreadable_or_not_json_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let msg = Config::from_file(&missing).unwrap_err().to_string();
        assert!(msg.contains("nope.json") && msg.contains("cannot be read"), "{msg}");
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "server_url = x").unwrap();
        let msg = Config::from_file(&bad).unwrap_err().to_string();
        assert!(msg.contains("bad.json") && msg.contains("not valid JSON"), "{msg}");
        let good = dir.path().join("good.json");
        std::fs::write(&good, GOOD).unwrap();
        assert_eq!(Config::from_file(&good).unwrap().app_id, "acme");
    }

    #[test]
    fn validate_checks_configs_built_in_code() {
        let mut c = Config::from_json_str(GOOD).unwrap();
        c.default_tag = String::new();
        assert!(c.validate().unwrap_err().to_string().contains("default_tag"));
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "fr-CA", "zh-Hant-TW", "es-419"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "e", "fr_CA", "fr-", "-fr", "français", "en-toolongsubtag"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
