//! The metadata a clerk sends with a filing, and the merge patch of a correction.
#![no_main]

use std::sync::LazyLock;

use dangan::domain::Classification;
use dangan::domain::metadata::{Metadata, merge_patch};
use libfuzzer_sys::fuzz_target;

static SCHEME: LazyLock<Classification> = LazyLock::new(|| {
    Classification::from_toml(include_str!("../../schema/classification.toml")).unwrap()
});

fuzz_target!(|data: &[u8]| {
    let _ = Metadata::from_json(data, &SCHEME);
    // A correction: the same bytes as a patch over a valid record.
    if let Ok(patch) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut base: serde_json::Value =
            serde_json::from_str(include_str!("../corpus/metadata/repair_order.json")).unwrap();
        merge_patch(&mut base, &patch);
        let _ = Metadata::from_value(base, &SCHEME);
    }
});
