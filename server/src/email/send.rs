//! One email over SMTP with `lettre`: the app's host, port, protection (none, STARTTLS, implicit TLS) and credentials.
//! Certificates are checked with the platform's verifier, plus the operator's extra CA (`--smtp-ca-file`) if any.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::compose::{short, Outgoing};
use crate::store::email::SmtpSecurity;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another attempt later (4xx reply, connection or TLS trouble, timeout).
    Transient(String),
    /// Refused for good (5xx reply, an address the server will never take, a message that cannot be built).
    Permanent(String),
}

fn mailbox(address: &str, name: Option<&str>) -> Result<Mailbox, SendError> {
    let email = address
        .parse()
        .map_err(|e| SendError::Permanent(format!("address `{address}` is not a valid email address: {e}")))?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}

/// The RFC 5322 message: plain text, UTF-8.
pub fn build_message(out: &Outgoing) -> Result<Message, SendError> {
    let s = &out.settings;
    let mut builder: MessageBuilder = Message::builder()
        .from(mailbox(&s.from_address, s.from_name.as_deref())?)
        .subject(out.subject.clone())
        .message_id(Some(out.message_id.clone()));
    for to in &out.to {
        builder = builder.to(mailbox(to, None)?);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(out.body.clone())
        .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))
}

fn transport(
    out: &Outgoing,
    extra_ca: Option<&[u8]>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    let s = &out.settings;
    let tls = |host: &str| -> Result<TlsParameters, SendError> {
        let mut b = TlsParameters::builder(host.to_owned());
        if let Some(pem) = extra_ca {
            let ca = Certificate::from_pem(pem).map_err(|e| SendError::Permanent(format!("--smtp-ca-file: {e}")))?;
            b = b.add_root_certificate(ca);
        }
        b.build_rustls().map_err(|e| SendError::Permanent(format!("TLS settings: {e}")))
    };
    let mode = match s.security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(tls(&s.host)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls(&s.host)?),
    };
    let hello = s.from_address.rsplit_once('@').map_or("localhost", |(_, d)| d).to_owned();
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone())
        .port(s.port)
        .tls(mode)
        .hello_name(ClientId::Domain(hello))
        .timeout(Some(timeout));
    if let Some(user) = &s.username {
        b = b.credentials(Credentials::new(user.clone(), s.password.clone().unwrap_or_default()));
    }
    Ok(b.build())
}

/// Sends one email: one connection, one SMTP transaction.
pub async fn send(out: &Outgoing, extra_ca: Option<&[u8]>, timeout: Duration) -> Result<(), SendError> {
    let message = build_message(out)?;
    let transport = transport(out, extra_ca, timeout)?;
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(SendError::Permanent(short(&e.to_string()))),
        Err(e) => Err(SendError::Transient(short(&e.to_string()))),
    }
}
