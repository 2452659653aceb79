//! Dev mode end to end: a local QStash started on a port with the official
//! dev server's public credentials is what `QSTASH_DEV=1` finds, for
//! sending (`Client::from_env`: the dev token) and for verifying
//! (`Receiver::from_env`: the dev signing keys).

use crate::common;

use std::ffi::OsString;

use common::{Sink, bounded};
use qstash::{ClientBuilder, DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_TOKEN};

/// A local QStash with the public dev credentials, on a free port.
async fn dev_server() -> qstash_dev::Server {
    qstash_dev::Server::builder()
        .port(0)
        .token(DEV_TOKEN)
        .signing_keys(DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY)
        .start()
        .await
        .expect("start the server")
}

/// `Client::from_env()` as it behaves with these variables set.
fn client_from_env(vars: &[(&str, String)]) -> qstash::Client {
    ClientBuilder::from_env_with(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| OsString::from(v))
    })
    .and_then(ClientBuilder::build)
    .expect("a dev client")
}

#[tokio::test]
async fn qstash_dev_1_reaches_the_dev_server_with_the_public_credentials() {
    bounded(async {
        let server = dev_server().await;
        let port = server.addr().port().to_string();
        let client = client_from_env(&[
            ("QSTASH_DEV", "1".into()),
            ("QSTASH_DEV_PORT", port.clone()),
            // What a production setup leaves in the environment: ignored.
            ("QSTASH_TOKEN", "production-token".into()),
        ]);
        assert_eq!(client.base_url(), format!("http://127.0.0.1:{port}"));

        // The JS SDK's check that a running server is the dev server: its
        // signing keys are the published ones.
        let keys = client.get_signing_keys().send().await.unwrap().into_inner();
        assert_eq!(keys.current.as_deref(), Some(DEV_CURRENT_SIGNING_KEY));
        assert_eq!(keys.next.as_deref(), Some(DEV_NEXT_SIGNING_KEY));

        // A message goes through, signed with the dev keys.
        let sink = Sink::start().await;
        let url = sink.url("/hooks/dev");
        client
            .publish()
            .destination(&url)
            .body("from dev mode")
            .send()
            .await
            .unwrap();
        let delivery = sink.wait_for(1).await.remove(0);
        assert_eq!(&delivery.body[..], b"from dev mode");
        // A receiver from the same environment verifies it.
        let receiver = qstash::Receiver::from_env_with(|name| {
            (name == "QSTASH_DEV").then(|| OsString::from("1"))
        })
        .expect("a dev receiver");
        let claims = receiver
            .verify_request(&delivery.headers, &delivery.body, Some(&url))
            .expect("signed with the public dev keys");
        assert_eq!(claims.sub, url);
    })
    .await;
}

#[tokio::test]
async fn without_dev_mode_the_dev_server_refuses_a_production_token() {
    bounded(async {
        let server = dev_server().await;
        let client = client_from_env(&[
            ("QSTASH_TOKEN", "production-token".into()),
            ("QSTASH_URL", server.url().to_string()),
        ]);
        let err = client.get_signing_keys().send().await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err}");
    })
    .await;
}
