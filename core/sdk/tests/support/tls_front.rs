//! A TLS-terminating proxy in front of the real test server, with a private CA made at test time: the SDK talks
//! `https://` / `wss://` to `127.0.0.1:PORT` (a certificate with that IP address, signed by the CA), the proxy forwards
//! the plain bytes to the server. Every connection ends when a side closes; the proxy stops when dropped.
#![allow(dead_code)]

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

pub struct TlsFront {
    /// `https://127.0.0.1:PORT`
    pub url: String,
    /// The private CA, PEM.
    pub ca_pem: String,
    /// The certificate the proxy serves (alone: the CA is not sent).
    pub leaf: CertificateDer<'static>,
    accept: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    /// Listens on 127.0.0.1:0 and forwards every TLS connection to `upstream_port` on 127.0.0.1.
    pub async fn start(upstream_port: u16) -> TlsFront {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.distinguished_name.push(DnType::CommonName, "Chatflow test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

        let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        leaf_params.distinguished_name.push(DnType::CommonName, "chatflow test server");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        let leaf = leaf.der().clone();

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.clone()], PrivateKeyDer::from(leaf_key))
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (the client did not trust us) just ends this connection.
                    let Ok(mut tls) = acceptor.accept(socket).await else { return };
                    let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                });
            }
        });
        TlsFront { url: format!("https://127.0.0.1:{port}"), ca_pem: ca.pem(), leaf, accept }
    }

    /// A file holding the CA alone, for `SSL_CERT_FILE`.
    pub fn ca_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("private-ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
