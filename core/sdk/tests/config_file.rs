//! End to end: the config file the app ships, and `ChatClient::open` refusing a bad one precisely.

use chatflow_core::client::ChatClient;
use chatflow_core::config::{Config, Environment};
use chatflow_core::Error;

#[test]
fn a_shipped_config_file_opens_a_client_without_network() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatflow.json");
    std::fs::write(
        &path,
        r#"{ "server_url": "https://chat.example.com/api", "app_id": "acme-shop", "environment": "staging",
             "default_tag": "support", "language": "fr-CA" }"#,
    )
    .unwrap();
    let config = Config::from_file(&path).unwrap();
    assert_eq!(config.environment, Environment::Staging);
    let client = ChatClient::open(config, dir.path().join("store")).unwrap();
    assert_eq!(client.config().default_tag, "support");
    assert!(client.session_info().is_none());
}

#[test]
fn open_refuses_an_invalid_config_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        server_url: "http://chat.example.com".into(),
        app_id: "acme".into(),
        environment: Environment::Production,
        default_tag: "support".into(),
        language: None,
        extra_root_certificates: None,
        pinned_spki_sha256: Vec::new(),
        attachment_cache_bytes: None,
    };
    let err = ChatClient::open(config, dir.path()).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("`server_url`") && msg.contains("http://chat.example.com") && msg.contains("loopback"),
        "{msg}"
    );
    assert!(!dir.path().join(chatflow_core::store::DB_FILE_NAME).exists(), "nothing is created for a bad config");
}

#[test]
fn a_missing_file_and_a_non_json_file_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = Config::from_file(dir.path().join("absent.json")).unwrap_err().to_string();
    assert!(err.contains("absent.json") && err.contains("cannot be read"), "{err}");
    let path = dir.path().join("chatflow.plist");
    std::fs::write(&path, "<plist/>").unwrap();
    let err = Config::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("chatflow.plist") && err.contains("not valid JSON"), "{err}");
}
