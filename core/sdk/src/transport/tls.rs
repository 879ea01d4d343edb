//! The one TLS configuration of a client, shared by REST ([`super::http`]) and the realtime socket
//! ([`super::realtime`]), built once per client.
//!
//! Trust: the platform's verifier (`rustls-platform-verifier`): Android's `X509TrustManager` (user and MDM CAs,
//! `network_security_config`), Security.framework on Apple platforms, the system store on Linux (`SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set). Two config options serve self-hosted servers:
//!
//! * `extra_root_certificates` — CAs trusted in addition to the platform's. A chain the platform refuses is checked
//!   again by a webpki verifier whose only anchors are these roots (full checks: name, validity, usage). A chain the
//!   platform refuses as *revoked* is not given that second chance.
//! * `pinned_spki_sha256` — after a chain was verified, some certificate the server sent must have one of these
//!   SubjectPublicKeyInfo SHA-256 hashes (base64), otherwise the connection is refused.
//!
//! A refused certificate surfaces as [`Error::Tls`] (see [`tls_error`]): not recoverable, the send queue and the
//! realtime connection wait for the app instead of retrying it in a loop.

use std::sync::{Arc, Once};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};

use crate::config::Config;
use crate::error::{Error, Result};

/// rustls needs a process-wide crypto provider for the builders that do not take one (reqwest's). Installing ring's
/// fails only when the app (or another library) installed one already — then that one is used, which is what the app
/// wants.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Builds the client's TLS configuration from its (validated) config.
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>> {
    install_crypto_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |e: &dyn std::fmt::Display| Error::Tls { message: format!("cannot set up TLS: {e}") };
    // Not fatal here: an `http://` loopback server needs no trust store (a minimal Linux may have none), and extra
    // roots work without it. A TLS connection the platform would have had to judge reports this reason.
    let platform = rustls_platform_verifier::Verifier::new(provider.clone())
        .map(|v| Arc::new(v) as Arc<dyn ServerCertVerifier>)
        .map_err(|e| format!("the platform's trust store is unavailable ({e})"));
    let extra = match &config.extra_root_certificates {
        None => None,
        Some(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in parse_certificates(pem).map_err(|e| setup(&e))? {
                roots.add(cert).map_err(|e| setup(&e))?;
            }
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| setup(&e))?;
            Some(verifier)
        }
    };
    let pins = config.pinned_spki_sha256.iter().map(|p| parse_pin(p)).collect::<std::result::Result<_, _>>();
    let pins = pins.map_err(|e| setup(&e))?;
    let verifier = TrustVerifier { platform, extra, pins, provider: provider.clone() };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?
        .dangerous() // not dangerous here: the verifier is the platform's (plus the app's own roots and pins)
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The PEM text of `extra_root_certificates` as DER certificates. `Err` says what is wrong (never quotes key material).
pub(crate) fn parse_certificates(pem: &str) -> std::result::Result<Vec<CertificateDer<'static>>, String> {
    let mut certs = Vec::new();
    for (index, section) in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()).enumerate() {
        let (kind, der) = section.map_err(|e| format!("PEM block {} cannot be read ({e})", index + 1))?;
        if kind != SectionKind::Certificate {
            return Err(format!("PEM block {} is a {kind:?}, not a CERTIFICATE (never ship private keys)", index + 1));
        }
        let cert = CertificateDer::from(der);
        webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| format!("PEM block {} is not a valid X.509 certificate ({e})", index + 1))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err("no `-----BEGIN CERTIFICATE-----` block found".into());
    }
    Ok(certs)
}

/// One `pinned_spki_sha256` entry: standard base64 of a 32-byte SHA-256.
pub(crate) fn parse_pin(pin: &str) -> std::result::Result<[u8; 32], String> {
    let bytes = BASE64.decode(pin.trim()).map_err(|e| format!("`{pin}` is not standard base64 ({e})"))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("`{pin}` decodes to {} bytes, a SHA-256 is 32", bytes.len()))
}

/// base64(SHA-256(SubjectPublicKeyInfo)) of a DER certificate, the form `pinned_spki_sha256` takes.
pub fn spki_sha256(cert: &CertificateDer<'_>) -> Option<String> {
    spki_hash(cert).map(|h| BASE64.encode(h))
}

fn spki_hash(cert: &CertificateDer<'_>) -> Option<[u8; 32]> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    Some(crate::sha256::digest(parsed.subject_public_key_info().as_ref()))
}

/// The platform's verdict, a second chance with the app's extra roots, then the pins.
#[derive(Debug)]
struct TrustVerifier {
    platform: std::result::Result<Arc<dyn ServerCertVerifier>, String>,
    extra: Option<Arc<WebPkiServerVerifier>>,
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

/// Why the served chain failed the pins (shown in [`Error::Tls`]).
#[derive(Debug)]
struct PinMismatch {
    served: Vec<String>,
}

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no certificate of the chain matches `pinned_spki_sha256` (served: {})", self.served.join(", "))
    }
}

impl std::error::Error for PinMismatch {}

impl ServerCertVerifier for TrustVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let platform = match &self.platform {
            Ok(platform) => platform.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now),
            Err(unavailable) => Err(rustls::Error::General(unavailable.clone())),
        };
        let verified = match platform {
            Ok(v) => v,
            Err(refused) => match &self.extra {
                Some(extra) if !is_revoked(&refused) => extra
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                    // Unknown to both: the platform's reason. Known to the extra roots but wrong: that reason.
                    .map_err(|again| if is_unknown_issuer(&again) { refused } else { again })?,
                _ => return Err(refused),
            },
        };
        if self.pins.is_empty() {
            return Ok(verified);
        }
        let chain = std::iter::once(end_entity).chain(intermediates);
        let hashes: Vec<Option<[u8; 32]>> = chain.map(spki_hash).collect();
        if hashes.iter().flatten().any(|h| self.pins.contains(h)) {
            return Ok(verified);
        }
        let served = hashes.iter().map(|h| h.map_or_else(|| "unreadable".into(), |h| BASE64.encode(h))).collect();
        Err(rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(PinMismatch { served })))))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

fn is_revoked(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(CertificateError::Revoked))
}

fn is_unknown_issuer(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer))
}

/// The TLS failure inside a transport error's source chain, as [`Error::Tls`]; `None` when the failure is not about
/// TLS (refused connection, timeout…). `what` names the request (`GET /v1/chatflows`, `realtime connect`).
pub(crate) fn tls_error(what: &str, err: &(dyn std::error::Error + 'static)) -> Option<Error> {
    let mut current = Some(err);
    while let Some(e) = current {
        // io::Error's `source()` skips the error it wraps (hyper nests io errors two deep); `get_ref()` reaches it.
        let mut candidate = e;
        loop {
            if let Some(tls) = candidate.downcast_ref::<rustls::Error>() {
                return Some(Error::Tls { message: format!("{what}: {tls}; {}", advice(tls)) });
            }
            match candidate.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => candidate = inner,
                None => break,
            }
        }
        current = e.source();
    }
    None
}

/// What to do about a refused certificate.
fn advice(e: &rustls::Error) -> &'static str {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => {
            "the server's certificate is not issued by a CA this device trusts: install the CA on the device, or \
             (self-hosted server with a private CA) put it in the config's `extra_root_certificates`"
        }
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            "the server's certificate does not name this host: check `server_url`"
        }
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => "the server's certificate is expired or not valid yet: renew it, or check the device's clock",
        rustls::Error::InvalidCertificate(C::Revoked) => "the server's certificate is revoked: replace it",
        rustls::Error::InvalidCertificate(C::Other(OtherError(other))) if other.is::<PinMismatch>() => {
            "the server's keys changed or the pins are wrong: update `pinned_spki_sha256` (keep a backup pin)"
        }
        _ => "the TLS connection to the server was refused: check the server's certificate and TLS setup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_32_byte_base64() {
        let good = BASE64.encode([7u8; 32]);
        assert_eq!(parse_pin(&good).unwrap(), [7u8; 32]);
        let short = BASE64.encode([7u8; 20]);
        assert!(parse_pin(&short).unwrap_err().contains("20 bytes"));
        assert!(parse_pin("not base64!").unwrap_err().contains("not standard base64"));
    }

    #[test]
    fn pem_text_without_certificates_is_refused() {
        assert!(parse_certificates("hello").unwrap_err().contains("no `-----BEGIN CERTIFICATE-----`"));
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(parse_certificates(key).unwrap_err().contains("not a CERTIFICATE"));
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(parse_certificates(junk).unwrap_err().contains("not a valid X.509 certificate"));
    }
}
