//! A real SMTP server on loopback for the email tests: EHLO, optional STARTTLS (a private CA made at test time),
//! optional AUTH PLAIN, MAIL/RCPT/DATA with dot-unstuffing, RSET, NOOP, QUIT. It keeps every accepted message and can
//! answer the next MAIL commands with a transient `451`. It runs on its own thread and runtime, so a test blocked in
//! a synchronous call never stalls it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::rustls::pki_types::PrivateKeyDer;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// One message the sink accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub ehlo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message as sent (headers and body, CRLF line ends, dot-unstuffed).
    pub data: String,
    pub tls: bool,
    pub auth_user: Option<String>,
}

impl Received {
    /// The header's value (unfolded), case-insensitive name.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let mut value: Option<String> = None;
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = value.as_mut() {
                    v.push(' ');
                    v.push_str(line.trim_start());
                }
                continue;
            }
            if value.is_some() {
                break;
            }
            if let Some((n, v)) = line.split_once(':') {
                if n.eq_ignore_ascii_case(name) {
                    value = Some(v.trim().to_owned());
                }
            }
        }
        value
    }

    /// The decoded text body (7bit, 8bit, quoted-printable or base64).
    pub fn body(&self) -> String {
        let raw = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        match self.header("Content-Transfer-Encoding").map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("quoted-printable") => decode_qp(raw),
            Some("base64") => {
                let joined: String = raw.split_whitespace().collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(joined).expect("base64 body");
                String::from_utf8(bytes).expect("utf-8 body").replace("\r\n", "\n")
            }
            _ => raw.replace("\r\n", "\n"),
        }
    }
}

fn decode_qp(raw: &str) -> String {
    let mut out = Vec::new();
    for line in raw.split("\r\n") {
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (line, false),
        };
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 3 <= bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).expect("qp escape"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        if !soft {
            out.push(b'\n');
        }
    }
    String::from_utf8(out).expect("utf-8 body").trim_end_matches('\n').to_owned() + "\n"
}

#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Offer STARTTLS with a certificate for 127.0.0.1 signed by a private CA (`SmtpSink::ca_pem`).
    pub starttls: bool,
    /// Require AUTH PLAIN with these credentials before MAIL.
    pub auth: Option<(String, String)>,
}

pub struct SmtpSink {
    pub port: u16,
    /// The private CA (PEM) when STARTTLS is offered.
    pub ca_pem: Option<String>,
    received: Arc<Mutex<Vec<Received>>>,
    fail_next: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    opts: SinkOptions,
    tls: Option<TlsAcceptor>,
    received: Arc<Mutex<Vec<Received>>>,
    fail_next: Arc<AtomicUsize>,
}

fn private_ca() -> (TlsAcceptor, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(DnType::CommonName, "Chatflow SMTP test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    leaf_params.distinguished_name.push(DnType::CommonName, "chatflow test smtp");
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], PrivateKeyDer::from(leaf_key))
        .unwrap();
    (TlsAcceptor::from(Arc::new(config)), ca.pem())
}

impl SmtpSink {
    pub fn start(opts: SinkOptions) -> SmtpSink {
        let (tls, ca_pem) = if opts.starttls {
            let (a, pem) = private_ca();
            (Some(a), Some(pem))
        } else {
            (None, None)
        };
        let received = Arc::new(Mutex::new(Vec::new()));
        let fail_next = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared { opts, tls, received: received.clone(), fail_next: fail_next.clone() });
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let conns = connections.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let accept = async {
                    while let Ok((socket, _)) = listener.accept().await {
                        conns.fetch_add(1, Ordering::SeqCst);
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            let _ = session(shared, Box::new(socket)).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        let port = port_rx.recv_timeout(Duration::from_secs(10)).expect("sink port");
        SmtpSink { port, ca_pem, received, fail_next, connections, stop: Some(stop), thread: Some(thread) }
    }

    /// Answer the next `n` MAIL commands with `451` (a transient failure).
    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` messages arrived (panics after `timeout`).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "expected {n} emails within {timeout:?}, got {}: {got:#?}", got.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn session(shared: Arc<Shared>, stream: Box<dyn Stream>) -> std::io::Result<()> {
    let mut io = BufReader::new(stream);
    io.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    io.flush().await?;
    let (mut tls, mut ehlo, mut user) = (false, String::new(), None::<String>);
    let (mut from, mut rcpts) = (None::<String>, Vec::<String>::new());
    loop {
        let mut line = String::new();
        if io.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end_matches(['\r', '\n']).to_owned();
        let upper = cmd.to_ascii_uppercase();
        let reply: String = if upper.starts_with("EHLO ") || upper.starts_with("HELO ") {
            ehlo = cmd[5..].to_owned();
            let mut r = String::from("250-sink.test\r\n250-8BITMIME\r\n");
            if shared.tls.is_some() && !tls {
                r.push_str("250-STARTTLS\r\n");
            }
            if shared.opts.auth.is_some() {
                r.push_str("250-AUTH PLAIN\r\n");
            }
            r.push_str("250 SIZE 10000000\r\n");
            r
        } else if upper == "STARTTLS" && shared.tls.is_some() && !tls {
            io.write_all(b"220 2.0.0 go ahead\r\n").await?;
            io.flush().await?;
            let plain = io.into_inner();
            let secured = shared.tls.as_ref().unwrap().accept(plain).await?;
            let secured: Box<dyn Stream> = Box::new(secured);
            io = BufReader::new(secured);
            tls = true;
            (from, rcpts, user) = (None, Vec::new(), None);
            continue;
        } else if let Some(arg) = upper.strip_prefix("AUTH PLAIN").map(|_| cmd[10..].trim().to_owned()) {
            let arg = if arg.is_empty() {
                io.write_all(b"334 \r\n").await?;
                io.flush().await?;
                let mut l = String::new();
                io.read_line(&mut l).await?;
                l.trim().to_owned()
            } else {
                arg
            };
            let decoded = base64::engine::general_purpose::STANDARD.decode(arg).unwrap_or_default();
            let parts: Vec<String> =
                decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            match (&shared.opts.auth, parts.as_slice()) {
                (Some((u, p)), [_, gu, gp]) if gu == u && gp == p => {
                    user = Some(u.clone());
                    "235 2.7.0 authenticated\r\n".into()
                }
                _ => "535 5.7.8 bad credentials\r\n".into(),
            }
        } else if upper.starts_with("MAIL FROM:") {
            if shared.opts.auth.is_some() && user.is_none() {
                "530 5.7.0 authentication required\r\n".into()
            } else if shared.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                "451 4.3.0 try again later\r\n".into()
            } else {
                from = Some(angle(&cmd[10..]));
                rcpts.clear();
                "250 2.1.0 ok\r\n".into()
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                "503 5.5.1 MAIL first\r\n".into()
            } else {
                rcpts.push(angle(&cmd[8..]));
                "250 2.1.5 ok\r\n".into()
            }
        } else if upper == "DATA" {
            if from.is_none() || rcpts.is_empty() {
                "503 5.5.1 MAIL and RCPT first\r\n".into()
            } else {
                io.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                io.flush().await?;
                let mut data = String::new();
                loop {
                    let mut l = String::new();
                    if io.read_line(&mut l).await? == 0 {
                        return Ok(());
                    }
                    if l == ".\r\n" {
                        break;
                    }
                    data.push_str(l.strip_prefix('.').unwrap_or(&l));
                }
                shared.received.lock().unwrap().push(Received {
                    ehlo: ehlo.clone(),
                    mail_from: from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpts),
                    data,
                    tls,
                    auth_user: user.clone(),
                });
                "250 2.0.0 queued\r\n".into()
            }
        } else if upper == "RSET" {
            (from, rcpts) = (None, Vec::new());
            "250 2.0.0 ok\r\n".into()
        } else if upper == "NOOP" {
            "250 2.0.0 ok\r\n".into()
        } else if upper == "QUIT" {
            io.write_all(b"221 2.0.0 bye\r\n").await?;
            io.flush().await?;
            return Ok(());
        } else {
            "502 5.5.2 command not implemented\r\n".into()
        };
        io.write_all(reply.as_bytes()).await?;
        io.flush().await?;
    }
}

/// `<a@b>` (and any parameters after it) → `a@b`.
fn angle(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if a < b => arg[a + 1..b].to_owned(),
        _ => arg.split_whitespace().next().unwrap_or("").to_owned(),
    }
}
