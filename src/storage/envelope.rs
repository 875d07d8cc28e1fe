//! Envelope encryption (spec §6): per-object data keys wrapped by a master key.
//!
//! A [`DataKey`] is a fresh random 256-bit AES key. It never leaves the process
//! unwrapped: it is stored as a [`WrappedKey`] (AES-256-GCM under the master key,
//! with associated data naming what the key belongs to, so a wrapped key cannot be
//! moved to another document). Rotating the master key rewraps data keys and
//! leaves the content objects untouched.
//!
//! Small objects (manifests, the user list) are sealed whole by [`Keyring::seal`];
//! content is encrypted as a chunked stream by [`super::stream`].

use std::collections::HashMap;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a cryptographic operation failed. Every variant means "refuse the data".
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("no master key with id {0} is configured")]
    UnknownKey(String),
    #[error("authentication failed: the data was altered, truncated or belongs elsewhere")]
    Tampered,
    #[error("malformed encrypted object: {0}")]
    Malformed(&'static str),
}

/// Fills a buffer from the operating system's random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS random source failing is not recoverable: nothing may be encrypted.
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A 256-bit key encrypting one object's content.
pub struct DataKey(pub(crate) [u8; 32]);

impl DataKey {
    pub fn generate() -> Self {
        DataKey(random_bytes())
    }

    pub(crate) fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.0.into())
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        // Best effort: do not leave key material in freed memory.
        self.0.iter_mut().for_each(|b| *b = 0);
    }
}

/// A data key encrypted under a master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrappedKey {
    /// Id of the master key that wraps it.
    pub kek: String,
    /// Base64 of nonce (12 bytes) ‖ ciphertext+tag (48 bytes).
    pub blob: String,
}

/// A master key (key-encryption key) with its id.
pub struct MasterKey {
    id: String,
    cipher: Aes256Gcm,
    raw: [u8; 32],
}

impl MasterKey {
    /// Builds a master key from 32 bytes. The id is derived from the key, so the same
    /// key always has the same id and a wrong key is recognised before any use.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            format!(
                "a master key must be 32 bytes (256 bits), got {} bytes",
                bytes.len()
            )
        })?;
        let digest = Sha256::digest([b"dangan master key id\0".as_slice(), &key].concat());
        let id = format!("mk-{}", hex::encode(&digest[..8]));
        Ok(MasterKey {
            id,
            cipher: Aes256Gcm::new(&key.into()),
            raw: key,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The master keys the server knows: one active (wraps new keys), others only unwrap.
pub struct Keyring {
    active: String,
    keys: HashMap<String, MasterKey>,
}

impl Keyring {
    pub fn new(active: MasterKey) -> Self {
        let id = active.id.clone();
        Keyring {
            active: id.clone(),
            keys: HashMap::from([(id, active)]),
        }
    }

    pub fn add_retired(&mut self, key: MasterKey) {
        self.keys.entry(key.id.clone()).or_insert(key);
    }

    /// How many master keys besides the active one are known.
    pub fn retired_count(&self) -> usize {
        self.keys.len() - 1
    }

    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// A key for another purpose (e.g. keyed hashes in the search index), derived
    /// from the active master key with HMAC-SHA256 over `label`.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.keys[&self.active].raw)
            .expect("any key length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }

    fn key(&self, id: &str) -> Result<&MasterKey, CryptoError> {
        self.keys
            .get(id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_string()))
    }

    /// Wraps `dek` under the active master key, bound to `context`.
    pub fn wrap(&self, dek: &DataKey, context: &str) -> WrappedKey {
        let master = &self.keys[&self.active];
        let nonce: [u8; 12] = random_bytes();
        let ct = master
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &dek.0,
                    aad: wrap_aad(&master.id, context).as_bytes(),
                },
            )
            .expect("AES-GCM encryption of 32 bytes cannot fail");
        WrappedKey {
            kek: master.id.clone(),
            blob: B64.encode([nonce.as_slice(), &ct].concat()),
        }
    }

    pub fn unwrap(&self, wrapped: &WrappedKey, context: &str) -> Result<DataKey, CryptoError> {
        let master = self.key(&wrapped.kek)?;
        let raw = B64
            .decode(&wrapped.blob)
            .map_err(|_| CryptoError::Malformed("wrapped key is not base64"))?;
        if raw.len() != 12 + 32 + 16 {
            return Err(CryptoError::Malformed("wrapped key has the wrong length"));
        }
        let (nonce, ct) = raw.split_at(12);
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| CryptoError::Malformed("nonce"))?;
        let plain = master
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: wrap_aad(&master.id, context).as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)?;
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed("data key length"))?;
        Ok(DataKey(key))
    }

    /// Encrypts a small object whole under a fresh data key, bound to `context`.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let (key, nonce, ct) = self.encrypt_whole(context, plaintext);
        let sealed = Sealed {
            v: 1,
            key,
            nonce: B64.encode(nonce),
            ct: B64.encode(ct),
        };
        serde_json::to_vec(&sealed).expect("serialising a sealed object cannot fail")
    }

    /// Opens an object made by [`Keyring::seal`] with the same `context`.
    pub fn open(&self, context: &str, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sealed: Sealed = serde_json::from_slice(bytes)
            .map_err(|_| CryptoError::Malformed("not a sealed object"))?;
        if sealed.v != 1 {
            return Err(CryptoError::Malformed("unknown sealed object version"));
        }
        let ct = B64
            .decode(&sealed.ct)
            .map_err(|_| CryptoError::Malformed("ciphertext is not base64"))?;
        self.decrypt_whole(context, &sealed.key, &sealed.nonce, &ct)
    }

    /// Like [`Keyring::seal`] for large local files: a JSON header line (key and
    /// nonce) and then the raw ciphertext, without base64 and a JSON string
    /// around it (a 100 MB snapshot parsed as one JSON string costs seconds).
    pub fn seal_binary(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let (key, nonce, ct) = self.encrypt_whole(context, plaintext);
        let header = BinaryHeader {
            v: 2,
            key,
            nonce: B64.encode(nonce),
        };
        let mut out = serde_json::to_vec(&header).expect("serialising a header cannot fail");
        out.push(b'\n');
        out.extend_from_slice(&ct);
        out
    }

    /// Encrypts `plaintext` whole under a fresh data key bound to `context`:
    /// the wrapped key, the nonce and the ciphertext (both sealed forms).
    fn encrypt_whole(&self, context: &str, plaintext: &[u8]) -> (WrappedKey, [u8; 12], Vec<u8>) {
        let dek = DataKey::generate();
        let nonce: [u8; 12] = random_bytes();
        let ct = dek
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: seal_aad(context).as_bytes(),
                },
            )
            .expect("AES-GCM encryption within size limits cannot fail");
        (self.wrap(&dek, context), nonce, ct)
    }

    /// The reverse of `encrypt_whole`: the data key unwrapped for `context`,
    /// the base64 nonce, the ciphertext.
    fn decrypt_whole(
        &self,
        context: &str,
        key: &WrappedKey,
        nonce: &str,
        ct: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let dek = self.unwrap(key, context)?;
        let nonce: [u8; 12] = B64
            .decode(nonce)
            .ok()
            .and_then(|n| n.as_slice().try_into().ok())
            .ok_or(CryptoError::Malformed("nonce"))?;
        dek.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: seal_aad(context).as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Tampered)
    }

    /// Opens what [`Keyring::seal_binary`] made with the same `context`.
    pub fn open_binary(&self, context: &str, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let split = bytes
            .iter()
            .position(|&b| b == b'\n')
            .ok_or(CryptoError::Malformed("no header"))?;
        let header: BinaryHeader = serde_json::from_slice(&bytes[..split])
            .map_err(|_| CryptoError::Malformed("not a sealed file"))?;
        if header.v != 2 {
            return Err(CryptoError::Malformed("unknown sealed file version"));
        }
        self.decrypt_whole(context, &header.key, &header.nonce, &bytes[split + 1..])
    }

    /// Rewraps the key of a sealed object under the active master key without
    /// touching its ciphertext. Returns `None` when it is already current.
    pub fn rewrap_sealed(
        &self,
        context: &str,
        bytes: &[u8],
    ) -> Result<Option<Vec<u8>>, CryptoError> {
        let mut sealed: Sealed = serde_json::from_slice(bytes)
            .map_err(|_| CryptoError::Malformed("not a sealed object"))?;
        if sealed.key.kek == self.active {
            return Ok(None);
        }
        let dek = self.unwrap(&sealed.key, context)?;
        sealed.key = self.wrap(&dek, context);
        Ok(Some(
            serde_json::to_vec(&sealed).expect("serialising a sealed object cannot fail"),
        ))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    v: u32,
    key: WrappedKey,
    nonce: String,
    ct: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BinaryHeader {
    v: u32,
    key: WrappedKey,
    nonce: String,
}

fn wrap_aad(kek_id: &str, context: &str) -> String {
    format!("dangan/wrap/v1\0{kek_id}\0{context}")
}

fn seal_aad(context: &str) -> String {
    format!("dangan/sealed/v1\0{context}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap())
    }

    #[test]
    fn binary_sealing_round_trips_and_refuses_changes() {
        let k = ring();
        let plain: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let sealed = k.seal_binary("snap", &plain);
        assert!(
            sealed.len() < plain.len() + 400,
            "no base64 around the bytes"
        );
        assert_eq!(k.open_binary("snap", &sealed).unwrap(), plain);
        assert!(
            k.open_binary("other", &sealed).is_err(),
            "bound to its context"
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(k.open_binary("snap", &flipped), Err(CryptoError::Tampered));
        assert!(k.open_binary("snap", &sealed[..sealed.len() / 2]).is_err());
        assert!(k.open_binary("snap", b"no header at all").is_err());
    }

    #[test]
    fn wrap_round_trip_is_bound_to_context() {
        let ring = ring();
        let dek = DataKey::generate();
        let w = ring.wrap(&dek, "doc-a/1");
        assert_eq!(ring.unwrap(&w, "doc-a/1").unwrap().0, dek.0);
        assert_eq!(
            ring.unwrap(&w, "doc-b/1").err(),
            Some(CryptoError::Tampered)
        );
    }

    #[test]
    fn sealed_objects_round_trip_and_detect_tampering() {
        let ring = ring();
        let sealed = ring.seal("manifest/a", b"secret phone 13812341234");
        assert!(!String::from_utf8_lossy(&sealed).contains("13812341234"));
        assert_eq!(
            ring.open("manifest/a", &sealed).unwrap(),
            b"secret phone 13812341234"
        );
        assert!(ring.open("manifest/b", &sealed).is_err());
        let mut bad: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let ct = bad["ct"].as_str().unwrap().to_string();
        let mut raw = B64.decode(ct).unwrap();
        raw[0] ^= 1;
        bad["ct"] = B64.encode(raw).into();
        assert_eq!(
            ring.open("manifest/a", &serde_json::to_vec(&bad).unwrap())
                .err(),
            Some(CryptoError::Tampered)
        );
    }

    #[test]
    fn a_different_master_key_cannot_open() {
        let sealed = ring().seal("x", b"data");
        let other = Keyring::new(MasterKey::from_bytes(&[8u8; 32]).unwrap());
        assert!(matches!(
            other.open("x", &sealed),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn rewrap_moves_to_the_active_key_without_changing_content() {
        let old = MasterKey::from_bytes(&[7u8; 32]).unwrap();
        let sealed = ring().seal("x", b"data");
        let mut rotated = Keyring::new(MasterKey::from_bytes(&[9u8; 32]).unwrap());
        rotated.add_retired(old);
        let rewrapped = rotated.rewrap_sealed("x", &sealed).unwrap().unwrap();
        let only_new = Keyring::new(MasterKey::from_bytes(&[9u8; 32]).unwrap());
        assert_eq!(only_new.open("x", &rewrapped).unwrap(), b"data");
        assert!(rotated.rewrap_sealed("x", &rewrapped).unwrap().is_none());
    }

    #[test]
    fn master_key_length_is_checked() {
        assert!(
            MasterKey::from_bytes(&[1u8; 16])
                .err()
                .unwrap()
                .contains("32 bytes")
        );
    }
}
