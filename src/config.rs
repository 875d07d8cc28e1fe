//! Configuration: the built-in defaults (`config/default.toml`), an optional file,
//! `DANGAN__SECTION__KEY` environment variables and command-line flags, merged in
//! that order into [`Config`] and checked before anything starts.
//!
//! Unknown keys anywhere are an error: a misspelt key must not silently fall back
//! to a default.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub crypto: CryptoConfig,
    pub auth: AuthConfig,
    pub schema: SchemaConfig,
    pub index: IndexConfig,
    pub audit: AuditConfig,
    pub access: AccessConfig,
    pub fixity: FixityConfig,
    pub extract: ExtractConfig,
    pub ocr: OcrConfig,
    pub archive: ArchiveConfig,
}

/// OCR of scans in the background (spec §10): the engine and its children's
/// limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcrConfig {
    pub enabled: bool,
    /// The interpreter that imports `rapidocr`; empty: `python3` on `PATH`.
    pub python: String,
    pub workers: usize,
    pub memory_mb: u64,
    pub cpu_secs: u64,
    pub timeout_secs: u64,
}

/// The archive as a whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// IANA name of the zone whose calendar days the archive counts (spec §2).
    pub timezone: String,
}

/// The text-extraction children (spec §6): how many, and their limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractConfig {
    pub workers: usize,
    pub memory_mb: u64,
    pub cpu_secs: u64,
    pub timeout_secs: u64,
    pub program: String,
    pub pdftotext: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixityConfig {
    pub interval_hours: u64,
    pub max_mb_per_sec: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    pub default_days: u32,
    pub max_days: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    pub checkpoint_interval_secs: u64,
    /// Continue past a damaged retrieval log in a new chain segment (spec §4).
    /// Only the `--open-new-log-segment` flag of one start sets it: never a
    /// file or the environment, so consent is not left standing.
    #[serde(skip)]
    pub open_new_log_segment: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexConfig {
    pub writer_heap_mb: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: String,
    pub workers: usize,
    pub max_upload_bytes: u64,
    pub max_metadata_bytes: usize,
    pub max_json_bytes: usize,
    pub verify_before_send_bytes: u64,
    pub tls: TlsConfig,
}

/// HTTPS served by the binary itself (spec §8): both files, or neither.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: String,
    /// PEM private key of the leaf certificate.
    pub key_file: String,
}

impl TlsConfig {
    /// Whether HTTPS is configured.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub url: String,
    pub prefix: String,
    pub s3: S3Config,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub allow_http: bool,
    pub request_timeout_secs: u64,
    pub max_retries: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CryptoConfig {
    pub master_key_file: String,
    pub master_key: SecretString,
    pub retired_key_files: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    pub token_ttl_secs: u64,
    pub signing_key_file: String,
    pub bootstrap_admin_password: SecretString,
    pub max_failed_logins: u32,
    pub lockout_secs: u64,
    /// Front-desk sessions: idle and absolute lifetime (seconds).
    pub session_idle_secs: u64,
    pub session_max_secs: u64,
    pub external: ExternalIdpConfig,
}

/// An external identity provider whose tokens are accepted besides our own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIdpConfig {
    pub issuer: String,
    pub audience: String,
    pub jwks_file: String,
    pub jwks_url: String,
    pub jwks_min_refetch_secs: u64,
    pub algorithms: Vec<String>,
    pub username_claim: String,
    pub roles_claim: String,
    pub branch_claim: String,
    pub clearance_claim: String,
    pub role_map: std::collections::BTreeMap<String, String>,
}

impl ExternalIdpConfig {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaConfig {
    pub dir: String,
}

/// Values given on the command line; they win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    /// `--open-new-log-segment`: see [`AuditConfig::open_new_log_segment`].
    pub open_new_log_segment: bool,
}

impl Config {
    /// Loads defaults, then `file`, then the environment, then `overrides`.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, String> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(format!(
                    "configuration file {} does not exist",
                    file.display()
                ));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment.merge(Env::prefixed("DANGAN__").split("__"));
        if let Ok(pw) = std::env::var("DANGAN_ADMIN_PASSWORD") {
            figment = figment.merge(("auth.bootstrap_admin_password", pw));
        }
        if let Some(bind) = &overrides.bind {
            figment = figment.merge(("server.bind", bind.clone()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(("data_dir", dir.display().to_string()));
        }
        let mut config: Config = figment
            .extract()
            .map_err(|e| format!("invalid configuration: {e}"))?;
        config.audit.open_new_log_segment = overrides.open_new_log_segment;
        config.validate()?;
        Ok(config)
    }

    /// Checks what types alone cannot.
    pub fn validate(&self) -> Result<(), String> {
        if self.server.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "server.bind `{}` is not an ADDRESS:PORT",
                self.server.bind
            ));
        }
        if self.server.max_upload_bytes == 0
            || self.server.max_metadata_bytes == 0
            || self.server.max_json_bytes == 0
        {
            return Err(
                "server.max_upload_bytes, max_metadata_bytes and max_json_bytes must be above 0"
                    .into(),
            );
        }
        if self.server.tls.cert_file.is_empty() != self.server.tls.key_file.is_empty() {
            return Err(
                "server.tls.cert_file and server.tls.key_file: set both for HTTPS, or neither"
                    .into(),
            );
        }
        if self.auth.token_ttl_secs == 0 || self.auth.token_ttl_secs > 24 * 3600 {
            return Err(format!(
                "auth.token_ttl_secs is {}; expected 1 to 86400",
                self.auth.token_ttl_secs
            ));
        }
        if self.auth.session_idle_secs == 0
            || self.auth.session_idle_secs > self.auth.session_max_secs
        {
            return Err(format!(
                "auth.session_idle_secs ({}) must be 1 to auth.session_max_secs ({})",
                self.auth.session_idle_secs, self.auth.session_max_secs
            ));
        }
        if self.access.default_days == 0 || self.access.default_days > self.access.max_days {
            return Err(format!(
                "access.default_days ({}) must be 1 to access.max_days ({})",
                self.access.default_days, self.access.max_days
            ));
        }
        crate::domain::calendar::Calendar::parse(&self.archive.timezone)
            .map_err(|e| format!("archive.timezone: {e}"))?;
        let e = &self.extract;
        if e.memory_mb < 64 || e.cpu_secs == 0 || e.timeout_secs == 0 {
            return Err(format!(
                "extract.memory_mb ({}) must be at least 64, extract.cpu_secs ({}) and timeout_secs ({}) above 0",
                e.memory_mb, e.cpu_secs, e.timeout_secs
            ));
        }
        let o = &self.ocr;
        if o.workers == 0 || o.memory_mb < 256 || o.cpu_secs == 0 || o.timeout_secs == 0 {
            return Err(format!(
                "ocr.workers ({}) must be at least 1, ocr.memory_mb ({}) at least 256, ocr.cpu_secs ({}) and timeout_secs ({}) above 0",
                o.workers, o.memory_mb, o.cpu_secs, o.timeout_secs
            ));
        }
        if self.auth.issuer.is_empty() || self.auth.audience.is_empty() {
            return Err("auth.issuer and auth.audience must not be empty".into());
        }
        if !self.crypto.master_key.expose_secret().is_empty() {
            parse_key_text(self.crypto.master_key.expose_secret())
                .map_err(|e| format!("crypto.master_key: {e}"))?;
        }
        Ok(())
    }

    pub fn resolve(&self, configured: &str, default_name: &str) -> PathBuf {
        if configured.is_empty() {
            self.data_dir.join(default_name)
        } else {
            PathBuf::from(configured)
        }
    }
}

/// Parses a 256-bit key written as 64 hex characters or as base64.
pub fn parse_key_text(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine;
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| "expected 64 hex characters or base64 of 32 bytes".to_string())?
    };
    if bytes.len() != 32 {
        return Err(format!(
            "a master key must be 32 bytes (256 bits), got {} bytes",
            bytes.len()
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_load_and_validate() {
        let config = Config::load(None, &Overrides::default()).unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:8080");
        assert_eq!(config.auth.token_ttl_secs, 900);
    }

    #[test]
    fn flags_override_defaults() {
        let o = Overrides {
            bind: Some("127.0.0.1:0".into()),
            data_dir: Some("/tmp/x".into()),
            ..Overrides::default()
        };
        let config = Config::load(None, &o).unwrap();
        assert_eq!(config.server.bind, "127.0.0.1:0");
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[server]\nbnid = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default()).unwrap_err();
        assert!(err.contains("bnid"), "{err}");
        std::fs::write(&file, "[server]\nbind = \"nowhere\"\n").unwrap();
        assert!(
            Config::load(Some(&file), &Overrides::default())
                .unwrap_err()
                .contains("server.bind")
        );
        std::fs::write(&file, "[crypto]\nmaster_key = \"abcd\"\n").unwrap();
        assert!(
            Config::load(Some(&file), &Overrides::default())
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(
            Config::load(
                Some(&dir.path().join("missing.toml")),
                &Overrides::default()
            )
            .is_err()
        );
    }

    #[test]
    fn key_text_accepts_hex_and_base64() {
        assert_eq!(parse_key_text(&"ab".repeat(32)).unwrap(), vec![0xab; 32]);
        assert_eq!(
            parse_key_text("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap(),
            vec![0; 32]
        );
        assert!(parse_key_text("AAAA").is_err());
    }
}
