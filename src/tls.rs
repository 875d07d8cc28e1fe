//! HTTPS served by the binary itself (spec §8): the certificate chain and key
//! of `server.tls` read from PEM files into a rustls configuration, once at
//! start. Any problem is a sentence naming the file and what to fix.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

/// The rustls server configuration of `tls` (TLS 1.2 and 1.3, HTTP/1.1, the
/// aws-lc-rs provider). Errors: a file that cannot be read, holds no
/// certificate or key, or a key that does not belong to the certificate.
pub fn server_config(tls: &TlsConfig) -> Result<rustls::ServerConfig, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("server.tls.cert_file {}: {e}", tls.cert_file))?;
    if certs.is_empty() {
        return Err(format!(
            "server.tls.cert_file {}: no PEM certificate in it",
            tls.cert_file
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| format!("server.tls.key_file {}: {e}", tls.key_file))?;
    warn_if_readable_by_others(&tls.key_file);
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!(
                "server.tls: the key in {} does not fit the certificate in {}: {e}",
                tls.key_file, tls.cert_file
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A private key others may read is the operator's to fix; said once at start.
fn warn_if_readable_by_others(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path,
            "the TLS private key can be read by other users: chmod 600 it"
        );
    }
}
