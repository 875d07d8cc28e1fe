//! Encrypted objects read back from the store: sealed JSON objects (users,
//! access requests, register entries), manifests, tombstones, and content
//! streams. Damage or forgery must be an error, never a panic or garbage.
#![no_main]

use std::sync::LazyLock;

use dangan::domain::DocumentId;
use dangan::storage::envelope::{DataKey, Keyring, MasterKey};
use dangan::storage::manifest::{Manifest, Tombstone};
use dangan::storage::stream::ContentDecryptor;
use libfuzzer_sys::fuzz_target;

static KEYRING: LazyLock<Keyring> =
    LazyLock::new(|| Keyring::new(MasterKey::from_bytes(&[7u8; 32]).unwrap()));
static ID: LazyLock<DocumentId> = LazyLock::new(DocumentId::new);

fuzz_target!(|data: &[u8]| {
    let _ = KEYRING.open("system/users", data);
    let _ = KEYRING.rewrap_sealed("system/users", data);
    let _ = Manifest::open(*ID, data, &KEYRING);
    let _ = Tombstone::open(*ID, data, &KEYRING);
    let mut reader = ContentDecryptor::new(DataKey::generate(), "docs/x/content/1");
    let mut out = Vec::new();
    for piece in data.chunks(4096) {
        if reader.update(piece, &mut out).is_err() {
            return;
        }
    }
    let _ = reader.finish(&mut out);
});
