//! Local fakes of Google's OAuth2 token endpoint, FCM HTTP v1 and APNs (HTTP/2 over TLS with a test CA) that check
//! the real protocol: they verify the JWT signatures with the test keys, check every header and payload field the
//! server must send, record what they received, and answer scripted errors per device token.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_2048_8192_SHA256,
};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio_rustls::rustls::pki_types::PrivateKeyDer;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

pub const PROJECT_ID: &str = "chatflow-test";
pub const CLIENT_EMAIL: &str = "push@chatflow-test.iam.gserviceaccount.com";
pub const TEAM_ID: &str = "TEAM123456";
pub const KEY_ID: &str = "KEY1234567";
pub const TOPIC: &str = "com.acme.app";

/// The RSA key of the test service account (a fixture: ring cannot make RSA keys).
pub fn fcm_key_pem() -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/push/fcm-test-key.pem"),
    )
    .expect("fixture key")
}

/// A service-account file as the Firebase console gives it, for the fake OAuth endpoint at `token_uri`.
pub fn service_account(token_uri: &str) -> Value {
    json!({
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": "0123456789abcdef",
        "private_key": fcm_key_pem(),
        "client_email": CLIENT_EMAIL,
        "client_id": "1234567890",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
}

/// What a fake received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Wall-clock receipt time, microseconds since the epoch.
    pub at_us: u128,
    pub at: Instant,
    /// The device token.
    pub token: String,
    pub headers: HeaderMap,
    pub body: Value,
}

/// A scripted answer: status, `Retry-After` seconds, JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl Answer {
    pub fn new(status: u16, body: Value) -> Self {
        Answer { status, retry_after: None, body }
    }
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// Protocol violations seen (the test asserts there are none).
    violations: Mutex<Vec<String>>,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    /// Answer every request of this token so, once the script is used up.
    always: Mutex<HashMap<String, Answer>>,
    arrived: Notify,
    access_tokens: Mutex<HashSet<String>>,
    token_requests: Mutex<usize>,
}

impl Shared {
    fn violation(&self, v: String) -> Response {
        self.violations.lock().unwrap().push(v.clone());
        (StatusCode::BAD_REQUEST, axum::Json(json!({"fake": v}))).into_response()
    }

    fn record(&self, token: &str, headers: HeaderMap, body: Value) -> Answer {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros();
        self.received.lock().unwrap().push(Received {
            at_us: now,
            at: Instant::now(),
            token: token.to_owned(),
            headers,
            body,
        });
        self.arrived.notify_waiters();
        let scripted = self.script.lock().unwrap().get_mut(token).and_then(VecDeque::pop_front);
        scripted
            .or_else(|| self.always.lock().unwrap().get(token).cloned())
            .unwrap_or_else(|| Answer::new(200, json!({})))
    }
}

fn answer(a: Answer) -> Response {
    let mut resp = (StatusCode::from_u16(a.status).unwrap(), axum::Json(a.body)).into_response();
    if let Some(secs) = a.retry_after {
        resp.headers_mut().insert("retry-after", secs.to_string().parse().unwrap());
    }
    resp
}

/// A fake push service: the common half of both.
#[derive(Clone)]
pub struct Fake {
    pub url: String,
    shared: Arc<Shared>,
}

impl Fake {
    /// Answers the next requests for `token` with these, in order.
    pub fn script(&self, token: &str, answers: Vec<Answer>) {
        self.shared.script.lock().unwrap().entry(token.to_owned()).or_default().extend(answers);
    }

    /// Answers every request for `token` with `a` (after the script).
    pub fn always(&self, token: &str, a: Answer) {
        self.shared.always.lock().unwrap().insert(token.to_owned(), a);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    pub fn violations(&self) -> Vec<String> {
        self.shared.violations.lock().unwrap().clone()
    }

    pub fn token_requests(&self) -> usize {
        *self.shared.token_requests.lock().unwrap()
    }

    /// Waits until `n` requests arrived in all; panics after `wait`.
    pub async fn wait_for(&self, n: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let arrived = self.shared.arrived.notified();
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                let got = self.received();
                assert!(got.len() >= n, "expected {n} push requests, got {}: {got:#?}", got.len());
                return got;
            }
        }
    }
}

fn jwt_parts(jwt: &str) -> Option<(Value, Value, String, Vec<u8>)> {
    let (input, sig) = jwt.rsplit_once('.')?;
    let (h, c) = input.split_once('.')?;
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    Some((header, claims, input.to_owned(), URL_SAFE_NO_PAD.decode(sig).ok()?))
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

// ---------------------------------------------------------------- Google: OAuth2 + FCM HTTP v1 (plain HTTP)

#[derive(Clone)]
struct GoogleState {
    shared: Arc<Shared>,
    rsa_public: Arc<Vec<u8>>,
    token_url: String,
}

/// Google's token endpoint (`{url}/token`) and FCM (`{url}/v1/projects/…/messages:send`) on one port.
pub async fn start_google() -> Fake {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let rsa = RsaKeyPair::from_pkcs8(&pem_der(&fcm_key_pem())).unwrap();
    let shared = Arc::new(Shared::default());
    let state = GoogleState {
        shared: Arc::clone(&shared),
        rsa_public: Arc::new(rsa.public().as_ref().to_vec()),
        token_url: format!("{url}/token"),
    };
    let app = Router::new()
        .route("/token", post(oauth_token))
        .route("/v1/projects/{project}/{action}", post(fcm_send))
        .with_state(state);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fake { url, shared }
}

async fn oauth_token(State(g): State<GoogleState>, body: String) -> Response {
    *g.shared.token_requests.lock().unwrap() += 1;
    let mut form = HashMap::new();
    for pair in body.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            form.insert(k.to_owned(), v.to_owned());
        }
    }
    if form.get("grant_type").map(String::as_str) != Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return g.shared.violation(format!("oauth: grant_type wrong in {body}"));
    }
    let Some((header, claims, input, sig)) = form.get("assertion").and_then(|a| jwt_parts(a)) else {
        return g.shared.violation("oauth: assertion is not a JWT".into());
    };
    if header != json!({"alg": "RS256", "typ": "JWT"}) {
        return g.shared.violation(format!("oauth: JWT header {header}"));
    }
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, g.rsa_public.as_slice());
    if key.verify(input.as_bytes(), &sig).is_err() {
        return g.shared.violation("oauth: RS256 signature does not verify with the service account's key".into());
    }
    let iat = claims["iat"].as_i64().unwrap_or(0);
    let ok = claims["iss"] == CLIENT_EMAIL
        && claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
        && claims["aud"] == g.token_url.as_str()
        && claims["exp"].as_i64() == Some(iat + 3600)
        && (iat - unix_now()).abs() < 120;
    if !ok {
        return g.shared.violation(format!("oauth: claims {claims}"));
    }
    let token = format!("ya29.fake-{}", uuid::Uuid::new_v4());
    g.shared.access_tokens.lock().unwrap().insert(token.clone());
    axum::Json(json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"})).into_response()
}

async fn fcm_send(
    State(g): State<GoogleState>,
    Path((project, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if project != PROJECT_ID || action != "messages:send" {
        return g.shared.violation(format!("fcm: path /v1/projects/{project}/{action}"));
    }
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|t| g.shared.access_tokens.lock().unwrap().contains(t)) {
        return g.shared.violation("fcm: Authorization is not a token the OAuth endpoint issued".into());
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return g.shared.violation("fcm: body is not JSON".into());
    };
    let m = &body["message"];
    let data = m["data"].as_object().cloned().unwrap_or_default();
    let problems = [
        (m["token"].as_str().is_none_or(str::is_empty), "message.token missing"),
        (!data.values().all(Value::is_string), "data values must all be strings"),
        (data.get("cf_source") != Some(&json!("chatflow")), "cf_source"),
        (m["android"]["priority"] != "HIGH", "android.priority"),
        (data.get("cf_conversation_id").is_none_or(|c| m["android"]["collapse_key"] != *c), "collapse_key"),
        (m.get("notification").is_some(), "a data message has no notification block"),
    ];
    if let Some((_, what)) = problems.iter().find(|(bad, _)| *bad) {
        return g.shared.violation(format!("fcm: {what} in {body}"));
    }
    let token = m["token"].as_str().unwrap_or_default().to_owned();
    let a = g.shared.record(&token, headers, body);
    if a.status == 200 {
        return answer(Answer::new(200, json!({"name": format!("projects/{PROJECT_ID}/messages/1")})));
    }
    answer(a)
}

/// FCM's answer for a token that is no longer registered.
pub fn fcm_unregistered() -> Answer {
    Answer::new(
        404,
        json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
            "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}}),
    )
}

// ---------------------------------------------------------------- APNs (HTTP/2 over TLS, test CA)

#[derive(Clone)]
struct ApnsState {
    shared: Arc<Shared>,
    ec_public: Arc<Vec<u8>>,
}

pub struct FakeApns {
    pub fake: Fake,
    /// The test CA (PEM) that signed the fake's certificate: pass it with `--push-ca`.
    pub ca_pem: String,
    /// The `.p8` key (PKCS#8 PEM) whose public half the fake checks the provider tokens with.
    pub key_pem: String,
}

struct TlsListener {
    conns: mpsc::Receiver<(tokio_rustls::server::TlsStream<tokio::net::TcpStream>, std::net::SocketAddr)>,
    addr: std::net::SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.conns.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

pub async fn start_apns() -> FakeApns {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, "Chatflow push test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap().der().clone();
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf], PrivateKeyDer::from(leaf_key))
        .unwrap();
    // APNs is HTTP/2 only: offer nothing else.
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((socket, peer)) = tcp.accept().await {
            let (acceptor, tx) = (acceptor.clone(), tx.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(socket).await {
                    let _ = tx.send((tls, peer)).await;
                }
            });
        }
    });

    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    let ec = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref(), &SystemRandom::new()).unwrap();
    let key_pem =
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(doc.as_ref()));
    let shared = Arc::new(Shared::default());
    let state = ApnsState { shared: Arc::clone(&shared), ec_public: Arc::new(ec.public_key().as_ref().to_vec()) };
    let app = Router::new().route("/3/device/{token}", post(apns_send)).with_state(state);
    tokio::spawn(async move { axum::serve(TlsListener { conns: rx, addr }, app).await.unwrap() });
    FakeApns { fake: Fake { url: format!("https://{addr}"), shared }, ca_pem: ca.pem(), key_pem }
}

async fn apns_send(
    State(a): State<ApnsState>,
    Path(token): Path<String>,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if version != Version::HTTP_2 {
        return a.shared.violation(format!("apns: {version:?}, not HTTP/2"));
    }
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let Some((header, claims, input, sig)) = h("authorization").strip_prefix("bearer ").and_then(jwt_parts) else {
        return a.shared.violation("apns: authorization is not `bearer <JWT>`".into());
    };
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, a.ec_public.as_slice());
    if header != json!({"alg": "ES256", "kid": KEY_ID}) || key.verify(input.as_bytes(), &sig).is_err() {
        return (StatusCode::FORBIDDEN, axum::Json(json!({"reason": "InvalidProviderToken"}))).into_response();
    }
    if claims["iss"] != TEAM_ID || (claims["iat"].as_i64().unwrap_or(0) - unix_now()).abs() > 3600 {
        return a.shared.violation(format!("apns: provider token claims {claims}"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return a.shared.violation("apns: body is not JSON".into());
    };
    let aps = &body["aps"];
    let conv = body["cf_conversation_id"].as_str().unwrap_or("");
    let problems = [
        (h("apns-push-type") != "alert", "apns-push-type"),
        (h("apns-topic") != TOPIC, "apns-topic"),
        (h("apns-priority") != "10", "apns-priority"),
        (conv.is_empty() || h("apns-collapse-id") != conv, "apns-collapse-id"),
        (aps["thread-id"] != conv, "aps.thread-id"),
        (aps["sound"] != "default", "aps.sound"),
        (aps["mutable-content"] != 1, "aps.mutable-content"),
        (!aps["badge"].is_u64(), "aps.badge"),
        (!aps["alert"]["title"].is_string() || !aps["alert"]["body"].is_string(), "aps.alert"),
        (body["cf_source"] != "chatflow", "cf_source"),
        (!body["cf_seq"].is_u64() || !body["cf_unread"].is_u64(), "cf_seq / cf_unread numbers"),
    ];
    if let Some((_, what)) = problems.iter().find(|(bad, _)| *bad) {
        return a.shared.violation(format!("apns: {what} in {body} with {headers:?}"));
    }
    let answer_for = a.shared.record(&token, headers, body);
    if answer_for.status == 200 {
        return (StatusCode::OK, [("apns-id", uuid::Uuid::new_v4().to_string())]).into_response();
    }
    answer(answer_for)
}
