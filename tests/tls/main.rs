//! TLS of the client's own HTTP client: a server whose certificate chains
//! to a CA of its own is refused by default (the compiled-in Mozilla roots
//! do not know it), and accepted once the caller adds that CA. With the
//! shared HTTP client's tests (`http_client`), this binary is what the test
//! command runs again with the other TLS provider.

#[path = "../common/mod.rs"]
mod common;
mod http_client;

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The key exchange group of every handshake the server completed.
type Groups = Arc<std::sync::Mutex<Vec<rustls::NamedGroup>>>;

/// A CA, and an HTTPS server on 127.0.0.1 with a certificate it signed;
/// returns the server's URL, the CA's PEM and the groups of its handshakes.
async fn https_server() -> (String, String, Groups) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "qstash test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let mut leaf_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    leaf_params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();

    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let groups = Groups::default();
    let seen = groups.clone();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Some(group) = tls.get_ref().1.negotiated_key_exchange_group() {
                    seen.lock().unwrap().push(group.name());
                }
                let mut buf = vec![0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let body = r#"{"name":"orders"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, ca.pem(), groups)
}

fn builder(url: &str) -> qstash::ClientBuilder {
    common::builder(url, "t").retry_policy(qstash::RetryPolicy::none())
}

#[tokio::test]
async fn a_server_of_an_unknown_ca_is_refused_until_the_caller_adds_the_ca() {
    let (url, ca_pem, _) = https_server().await;

    let refused = builder(&url)
        .build()
        .unwrap()
        .get_queue()
        .queue_name("orders")
        .send()
        .await
        .unwrap_err();
    assert!(refused.is_network(), "{refused:?}");
    let chain = format!("{:?}", refused);
    assert!(chain.contains("UnknownIssuer"), "{chain}");

    let queue = get_queue_trusting(&url, &ca_pem).await;
    assert_eq!(queue.name.as_deref(), Some("orders"));
}

/// `get_queue` from the server at `url`, with `ca_pem` added to the roots.
async fn get_queue_trusting(url: &str, ca_pem: &str) -> qstash::types::Queue {
    builder(url)
        .root_certificate_pem(ca_pem)
        .build()
        .unwrap()
        .get_queue()
        .queue_name("orders")
        .send()
        .await
        .unwrap()
        .into_inner()
}

#[test]
fn a_pem_without_a_certificate_is_a_config_error() {
    let err = builder("https://127.0.0.1:1")
        .root_certificate_pem("not a certificate")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, qstash::Error::Config(m) if m.contains("holds no certificate")),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_tls_feature_picks_the_cryptography() {
    let (url, ca_pem, groups) = https_server().await;
    get_queue_trusting(&url, &ca_pem).await;
    // The server (aws-lc-rs) takes the post-quantum hybrid when the client
    // offers it: aws-lc-rs does, ring has no ML-KEM.
    let expected = if cfg!(feature = "rustls-aws-lc-rs") {
        rustls::NamedGroup::X25519MLKEM768
    } else {
        rustls::NamedGroup::X25519
    };
    assert_eq!(*groups.lock().unwrap(), vec![expected]);
}
