//! Tokens from an external identity provider: its issuer, audience and public
//! key set (JWKS, from a file or a URL) come from configuration, and its claims
//! are mapped to a dangan user (name, roles, branch, clearance) by configured
//! claim names and a role-name table.
//!
//! What is pinned: a token must name its key by `kid`, the key must be in the
//! provider's set, the token's `alg` must be one the configuration accepts *and*
//! the key's own algorithm. Symmetric (`oct`) keys in a set are never loaded, so
//! no secret is shared with the provider and public key material can never be
//! used as an HMAC secret. `exp`, `iss`, `aud` and `sub` are required.

use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::Principal;
use super::tokens::TokenError;
use crate::config::ExternalIdpConfig;
use crate::domain::people::{Branch, Level, Role};

enum KeySource {
    File(PathBuf),
    Url(String),
}

/// The provider's usable keys, by `kid`, each with the one algorithm it signs with.
type Keys = HashMap<String, (Algorithm, DecodingKey)>;

pub struct ExternalIdp {
    config: ExternalIdpConfig,
    allowed: Vec<Algorithm>,
    role_map: HashMap<String, Role>,
    source: KeySource,
    keys: RwLock<Keys>,
    last_fetch: Mutex<Option<Instant>>,
}

impl ExternalIdp {
    /// Checks the configuration and loads the key set. A key set URL that cannot
    /// be reached now is not fatal (local accounts keep working); it is fetched
    /// again when a provider token arrives.
    pub async fn new(config: &ExternalIdpConfig, local_issuer: &str) -> Result<Self, String> {
        let fail = |m: String| format!("auth.external: {m}");
        if config.audience.is_empty() {
            return Err(fail("audience must be set when issuer is".into()));
        }
        if config.issuer == local_issuer {
            return Err(fail(format!(
                "issuer `{local_issuer}` is this server's own issuer"
            )));
        }
        let source = match (config.jwks_file.is_empty(), config.jwks_url.is_empty()) {
            (false, true) => KeySource::File(PathBuf::from(&config.jwks_file)),
            (true, false) => KeySource::Url(config.jwks_url.clone()),
            _ => return Err(fail("set exactly one of jwks_file and jwks_url".into())),
        };
        let mut allowed = vec![];
        for name in &config.algorithms {
            let alg = Algorithm::from_str(name)
                .map_err(|_| fail(format!("unknown algorithm `{name}`")))?;
            if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(fail(format!(
                    "`{name}` is symmetric; only public-key algorithms are accepted"
                )));
            }
            allowed.push(alg);
        }
        if allowed.is_empty() {
            return Err(fail("algorithms must not be empty".into()));
        }
        let mut role_map = HashMap::new();
        for (theirs, ours) in &config.role_map {
            role_map.insert(theirs.clone(), Role::from_str(ours).map_err(fail)?);
        }
        for claim in [
            &config.username_claim,
            &config.roles_claim,
            &config.branch_claim,
            &config.clearance_claim,
        ] {
            if claim.is_empty() {
                return Err(fail("claim names must not be empty".into()));
            }
        }
        let idp = ExternalIdp {
            config: config.clone(),
            allowed,
            role_map,
            source,
            keys: RwLock::new(HashMap::new()),
            last_fetch: Mutex::new(None),
        };
        match idp.reload().await {
            Ok(n) => {
                tracing::info!(issuer = %config.issuer, keys = n, "external identity provider keys loaded")
            }
            Err(e) => match idp.source {
                KeySource::File(_) => return Err(fail(e)),
                KeySource::Url(_) => {
                    tracing::warn!(issuer = %config.issuer, error = %e, "external identity provider keys unavailable; will retry")
                }
            },
        }
        Ok(idp)
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// Reads the key set again and replaces the known keys. Returns how many are usable.
    async fn reload(&self) -> Result<usize, String> {
        *self.last_fetch.lock().expect("lock") = Some(Instant::now());
        let text = match &self.source {
            KeySource::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            KeySource::Url(url) => fetch(url).await?,
        };
        let set: JwkSet =
            serde_json::from_slice(&text).map_err(|e| format!("not a JWKS document: {e}"))?;
        let keys = usable_keys(&set, &self.allowed);
        let n = keys.len();
        *self.keys.write().expect("lock") = keys;
        Ok(n)
    }

    fn key(&self, kid: &str) -> Option<(Algorithm, DecodingKey)> {
        self.keys.read().expect("lock").get(kid).cloned()
    }

    /// Verifies a provider token and maps its claims to a principal.
    pub async fn verify(&self, token: &str, kid: &str) -> Result<Principal, TokenError> {
        let mut key = self.key(kid);
        if key.is_none() && matches!(self.source, KeySource::Url(_)) {
            let stale = self
                .last_fetch
                .lock()
                .expect("lock")
                .is_none_or(|t| t.elapsed().as_secs() >= self.config.jwks_min_refetch_secs);
            if stale {
                if let Err(e) = self.reload().await {
                    tracing::warn!(error = %e, "cannot refresh the identity provider's keys");
                }
                key = self.key(kid);
            }
        }
        let (alg, key) = key.ok_or(TokenError::Invalid)?;
        let mut validation = Validation::new(alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?
            .claims;
        self.map_claims(&claims)
    }

    /// The dangan identity a provider's claims describe.
    fn map_claims(&self, claims: &Map<String, Value>) -> Result<Principal, TokenError> {
        let c = &self.config;
        let unmapped = |why: &str| TokenError::Unmapped(why.to_string());
        let username = claims
            .get(&c.username_claim)
            .and_then(Value::as_str)
            .filter(|u| valid_username(u))
            .ok_or_else(|| unmapped("the user name claim is missing or not a valid name"))?;
        let names: Vec<&str> = match claims.get(&c.roles_claim) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            Some(Value::String(s)) => s.split_whitespace().collect(),
            _ => vec![],
        };
        let mut roles: Vec<Role> = names
            .into_iter()
            .filter_map(|n| {
                if self.role_map.is_empty() {
                    Role::from_str(n).ok()
                } else {
                    self.role_map.get(n).copied()
                }
            })
            .collect();
        roles.sort_by_key(|r| r.as_str());
        roles.dedup();
        if roles.is_empty() {
            return Err(unmapped("no dangan role in the roles claim"));
        }
        Role::separation_of_duties(&roles).map_err(unmapped)?;
        let branch = claims
            .get(&c.branch_claim)
            .and_then(Value::as_str)
            .and_then(|b| Branch::parse(b).ok())
            .ok_or_else(|| unmapped("the branch claim is missing or not a branch code"))?;
        let clearance = claims
            .get(&c.clearance_claim)
            .cloned()
            .and_then(|v| serde_json::from_value::<Level>(v).ok())
            .ok_or_else(|| unmapped("the clearance claim is missing or not a level"))?;
        Ok(Principal {
            username: username.to_string(),
            roles,
            branch,
            clearance,
            provider: Some(c.issuer.clone()),
        })
    }
}

/// Local user names' rule (2–64 ASCII letters, digits, `.`, `_`, `-`) plus `@`,
/// since providers often name users by e-mail address.
fn valid_username(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'))
}

/// The keys of a set that have a `kid`, a public-key type, and an algorithm the
/// configuration accepts (their declared `alg`, or the one their type implies).
fn usable_keys(set: &JwkSet, allowed: &[Algorithm]) -> Keys {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        // A key published for anything but signatures never verifies one
        // (RFC 7517 §4.2: `use`; §4.3: `key_ops`).
        let signs = match &jwk.common.public_key_use {
            None => true,
            Some(u) => *u == jsonwebtoken::jwk::PublicKeyUse::Signature,
        };
        let verifies = jwk
            .common
            .key_operations
            .as_ref()
            .is_none_or(|ops| ops.contains(&jsonwebtoken::jwk::KeyOperations::Verify));
        if !signs || !verifies {
            continue;
        }
        let implied = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) => match p.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => continue,
            },
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            _ => continue, // symmetric (`oct`) and unknown key types
        };
        let alg = match jwk.common.key_algorithm {
            None => implied,
            Some(declared) => match declared_algorithm(declared) {
                Some(a) if same_family(a, implied) => a,
                _ => continue,
            },
        };
        if !allowed.contains(&alg) {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            keys.insert(kid, (alg, key));
        }
    }
    keys
}

fn declared_algorithm(k: KeyAlgorithm) -> Option<Algorithm> {
    Some(match k {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

fn same_family(a: Algorithm, b: Algorithm) -> bool {
    use Algorithm::*;
    let family = |x| match x {
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => 0,
        ES256 => 1,
        ES384 => 2,
        EdDSA => 3,
        _ => 4,
    };
    family(a) == family(b) && family(a) != 4
}

async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let response = client
        .get(url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| format!("cannot fetch {url}: {e}"))?;
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))?;
    if body.len() > 1024 * 1024 {
        return Err(format!("{url} answered more than 1 MiB"));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(v: Value) -> JwkSet {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn only_public_keys_with_a_kid_and_an_accepted_algorithm_are_used() {
        let ed = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        use base64::Engine;
        let x =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(ed.verifying_key().as_bytes());
        let keys = set(json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed"},
            {"kty": "OKP", "crv": "Ed25519", "x": x},
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed-as-rsa", "alg": "RS256"},
            {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"},
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed-enc", "use": "enc"},
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed-wrap", "key_ops": ["wrapKey"]},
        ]}));
        let usable = usable_keys(&keys, &[Algorithm::EdDSA, Algorithm::RS256]);
        assert_eq!(usable.keys().collect::<Vec<_>>(), vec!["ed"]);
        assert!(usable_keys(&keys, &[Algorithm::RS256]).is_empty());
        let sig = set(json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "ed-sig", "use": "sig", "key_ops": ["verify"]},
        ]}));
        assert_eq!(usable_keys(&sig, &[Algorithm::EdDSA]).len(), 1);
    }

    #[test]
    fn user_names_follow_the_local_rule() {
        assert!(valid_username("wang.fang@dealer"));
        assert!(!valid_username("王芳"));
        assert!(!valid_username(""));
        assert!(!valid_username("a/b"));
        assert!(!valid_username(&"x".repeat(65)));
    }
}
