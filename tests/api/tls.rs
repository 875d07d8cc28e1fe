//! HTTPS served by the binary (spec §8), with a certificate made in the test.

use dangan::startup::Application;

use crate::helpers::{Store, test_config};

/// A self-signed certificate for `localhost`, its PEM, and its key's PEM.
fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn with_a_certificate_the_server_speaks_https_and_only_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = certificate();
    let cert_file = dir.path().join("server.crt");
    let key_file = dir.path().join("server.key");
    std::fs::write(&cert_file, &cert).unwrap();
    std::fs::write(&key_file, &key).unwrap();
    let mut config = test_config(&dir.path().join("data"), &Store::Local);
    config.server.tls.cert_file = cert_file.display().to_string();
    config.server.tls.key_file = key_file.display().to_string();
    let app = Application::build(config).await.expect("starts with HTTPS");
    let port = app.port();
    let handle = app.handle();
    let task = tokio::spawn(app.run_until_stopped());

    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = trusting
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The whole API is behind it: a login answers over HTTPS.
    let r = trusting
        .post(format!("https://localhost:{port}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "admin", "password": crate::helpers::ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Plain HTTP to the same port gets no answer, and a client that does not
    // trust the certificate is refused at the handshake.
    assert!(
        reqwest::get(format!("http://localhost:{port}/healthz"))
            .await
            .is_err()
    );
    assert!(
        reqwest::get(format!("https://localhost:{port}/healthz"))
            .await
            .is_err()
    );
    handle.stop(true).await;
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_tls_configuration_that_cannot_work_stops_the_start_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, _) = certificate();
    let (_, other_key) = certificate();
    let cert_file = dir.path().join("server.crt");
    let key_file = dir.path().join("other.key");
    std::fs::write(&cert_file, &cert).unwrap();
    std::fs::write(&key_file, &other_key).unwrap();
    let start = |cert: &str, key: &str| {
        let mut config = test_config(&dir.path().join("data"), &Store::Local);
        config.server.tls.cert_file = cert.to_string();
        config.server.tls.key_file = key.to_string();
        async move {
            match Application::build(config).await {
                Ok(_) => panic!("started with a broken TLS configuration"),
                Err(e) => e,
            }
        }
    };
    let cert_path = cert_file.display().to_string();
    let key_path = key_file.display().to_string();
    let mismatch = start(&cert_path, &key_path).await;
    assert!(
        mismatch.contains("does not fit the certificate"),
        "{mismatch}"
    );
    let missing = start("/nonexistent/server.crt", &key_path).await;
    assert!(
        missing.contains("server.tls.cert_file /nonexistent/server.crt"),
        "{missing}"
    );
    let not_a_cert = start(&key_path, &key_path).await;
    assert!(not_a_cert.contains("no PEM certificate"), "{not_a_cert}");
    let mut half = test_config(&dir.path().join("data"), &Store::Local);
    half.server.tls.cert_file = cert_path.clone();
    assert!(half.validate().unwrap_err().contains("set both"));
}
