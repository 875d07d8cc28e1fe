//! Access tokens: short-lived JWTs signed with Ed25519 (EdDSA), the only
//! algorithm accepted. `exp`, `iat`, `iss`, `aud` and `sub` are required.
//!
//! The signing key is a PKCS#8 file created with mode 0600 on first start.
//!
//! A client sends the same token with every request for its lifetime, and an
//! Ed25519 verification was ~15% of the server's time for a VIN look-up over
//! HTTP. So tokens whose signature and claims verified are remembered (by their
//! SHA-256, at most [`VERIFIED_TOKENS`]); a remembered token is still checked
//! for expiry and not-before on every use, exactly as a full verification would.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::storage::envelope::random_bytes;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    /// When it was issued, in unix nanoseconds (`iat` has whole seconds only,
    /// too coarse to order a token against an account change in the same
    /// second). 0 in tokens issued before this claim existed.
    #[serde(default)]
    pub iat_ns: i64,
}

impl Claims {
    /// The issue instant in unix nanoseconds, at the start of `iat`'s second
    /// when the token predates [`Claims::iat_ns`].
    pub fn issued_ns(&self) -> i64 {
        if self.iat_ns > 0 {
            self.iat_ns
        } else {
            self.iat.saturating_mul(1_000_000_000)
        }
    }
}

/// Verified tokens remembered (a few hundred bytes each).
pub const VERIFIED_TOKENS: usize = 4096;

pub struct TokenIssuer {
    verified: Mutex<lru::LruCache<[u8; 32], Claims>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
}

/// Why a token was refused. The message is safe to show the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token has expired")]
    Expired,
    #[error("the token is invalid")]
    Invalid,
    /// A valid provider token whose claims name no usable dangan identity.
    #[error("the token's claims do not describe a dangan user: {0}")]
    Unmapped(String),
}

impl TokenIssuer {
    /// Loads the signing key from `key_file`, creating it (mode 0600) if missing.
    pub fn load_or_create(
        key_file: &Path,
        issuer: &str,
        audience: &str,
        ttl_secs: u64,
    ) -> Result<Self, String> {
        let key = if key_file.exists() {
            let der = std::fs::read(key_file)
                .map_err(|e| format!("cannot read signing key {}: {e}", key_file.display()))?;
            SigningKey::from_pkcs8_der(&der).map_err(|e| {
                format!(
                    "signing key {} is not an Ed25519 PKCS#8 key: {e}",
                    key_file.display()
                )
            })?
        } else {
            let key = SigningKey::from_bytes(&random_bytes());
            let der = key
                .to_pkcs8_der()
                .map_err(|e| format!("cannot encode signing key: {e}"))?;
            crate::storage::keys::write_secret_file(key_file, der.as_bytes())?;
            key
        };
        Self::from_key(&key, issuer, audience, ttl_secs)
    }

    pub fn from_key(
        key: &SigningKey,
        issuer: &str,
        audience: &str,
        ttl_secs: u64,
    ) -> Result<Self, String> {
        let der = key
            .to_pkcs8_der()
            .map_err(|e| format!("cannot encode signing key: {e}"))?;
        let public = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
        let decoding =
            DecodingKey::from_ed_components(&public).map_err(|e| format!("signing key: {e}"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Ok(TokenIssuer {
            verified: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(VERIFIED_TOKENS).expect("non-zero"),
            )),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding,
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl_secs: ttl_secs as i64,
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    pub fn issue(&self, username: &str) -> String {
        let issued = chrono::Utc::now();
        let now = issued.timestamp();
        let claims = Claims {
            sub: username.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + self.ttl_secs,
            iat: now,
            nbf: now,
            jti: uuid::Uuid::new_v4().to_string(),
            iat_ns: issued.timestamp_nanos_opt().unwrap_or(0),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &self.encoding)
            .expect("signing with a valid Ed25519 key cannot fail")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, chrono::Utc::now().timestamp())
    }

    /// [`Self::verify`] at time `now` (seconds) for a remembered token; a token
    /// seen for the first time is verified in full against the real clock.
    fn verify_at(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        if token.len() > 8 * 1024 {
            return Err(TokenError::Invalid);
        }
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let remembered = self
            .verified
            .lock()
            .expect("token cache")
            .get(&key)
            .cloned();
        if let Some(claims) = remembered {
            // jsonwebtoken's rules, with the same leeway.
            let leeway = self.validation.leeway as i64;
            if claims.exp < now - leeway {
                self.verified.lock().expect("token cache").pop(&key);
                return Err(TokenError::Expired);
            }
            if claims.nbf > now + leeway {
                return Err(TokenError::Invalid);
            }
            return Ok(claims);
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        self.verified
            .lock()
            .expect("token cache")
            .put(key, claims.clone());
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> TokenIssuer {
        TokenIssuer::from_key(
            &SigningKey::from_bytes(&[3u8; 32]),
            "dangan",
            "dangan-api",
            900,
        )
        .unwrap()
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_changed_one_is_verified_again() {
        let t = issuer();
        let token = t.issue("clerk1");
        let now = chrono::Utc::now().timestamp();
        assert_eq!(t.verify(&token).unwrap().sub, "clerk1");
        assert_eq!(t.verify_at(&token, now + 60).unwrap().sub, "clerk1");
        assert_eq!(
            t.verify_at(&token, now + 900 + 6),
            Err(TokenError::Expired),
            "past exp + leeway, remembered or not"
        );
        // One character changed in the signature: not the remembered token.
        let token = t.issue("clerk2");
        t.verify(&token).unwrap();
        let mut forged = token.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(t.verify(&forged), Err(TokenError::Invalid));
    }

    #[test]
    fn issued_tokens_verify() {
        let t = issuer();
        let claims = t.verify(&t.issue("clerk1")).unwrap();
        assert_eq!(claims.sub, "clerk1");
    }

    #[test]
    fn forged_tokens_are_refused() {
        let t = issuer();
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({"sub":"admin","iss":"dangan","aud":"dangan-api","exp":now+600,"iat":now,"nbf":now,"jti":"x"});
        // alg: none
        let none = format!(
            "{}.{}.",
            b64(&serde_json::json!({"alg":"none","typ":"JWT"})),
            b64(&claims)
        );
        assert_eq!(t.verify(&none), Err(TokenError::Invalid));
        // HS256 signed with a guessable secret
        let hs = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(b"dangan"),
        )
        .unwrap();
        assert_eq!(t.verify(&hs), Err(TokenError::Invalid));
        // HS256 with the server's own public key as the HMAC secret (algorithm confusion)
        let public = SigningKey::from_bytes(&[3u8; 32])
            .verifying_key()
            .to_bytes();
        let confused = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&public),
        )
        .unwrap();
        assert_eq!(t.verify(&confused), Err(TokenError::Invalid));
        // another Ed25519 key
        let other = TokenIssuer::from_key(
            &SigningKey::from_bytes(&[4u8; 32]),
            "dangan",
            "dangan-api",
            900,
        )
        .unwrap();
        assert_eq!(t.verify(&other.issue("admin")), Err(TokenError::Invalid));
        // tampered payload
        let good = t.issue("staff1");
        let parts: Vec<&str> = good.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
        assert_eq!(t.verify(&forged), Err(TokenError::Invalid));
        assert_eq!(t.verify("garbage"), Err(TokenError::Invalid));
    }

    #[test]
    fn expired_and_misaddressed_tokens_are_refused() {
        let t = issuer();
        let now = chrono::Utc::now().timestamp();
        let sign = |c: serde_json::Value| {
            jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &c, &t.encoding).unwrap()
        };
        let base = serde_json::json!({"sub":"u","iss":"dangan","aud":"dangan-api","exp":now+600,"iat":now,"nbf":now,"jti":"x"});
        let with = |k: &str, v: serde_json::Value| {
            let mut c = base.clone();
            c[k] = v;
            sign(c)
        };
        assert_eq!(
            t.verify(&with("exp", (now - 60).into())),
            Err(TokenError::Expired)
        );
        assert_eq!(
            t.verify(&with("iss", "evil".into())),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            t.verify(&with("aud", "other".into())),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            t.verify(&with("nbf", (now + 3600).into())),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            t.verify(&with("exp", "tomorrow".into())),
            Err(TokenError::Invalid)
        );
        let mut no_exp = base.clone();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(t.verify(&sign(no_exp)), Err(TokenError::Invalid));
    }
}
