//! The metadata a clerk sends with a filing, and the merge patch of a correction.
#![no_main]

use std::sync::LazyLock;

use dangan::domain::Classification;
use dangan::domain::metadata::{Metadata, merge_patch};
use libfuzzer_sys::fuzz_target;

/// A valid repair order, the base a correction patches.
const RECORD: &str = r#"{"category": "WX", "title": "维修委托书 京A·12345 刹车片更换", "vehicle": {"vin": "LFV2A21K2M3000001", "plate": "京A·12345", "model": "大众帕萨特", "mileage_km": 42000}, "customer": {"name": "王伟", "phone": "13812341234", "id_number": "11010519491231002X"}, "service": {"order_no": "BJ01-20260301-000001", "service_date": "2026-03-01", "technician": "李师傅"}, "tags": ["制动系统"]}"#;

static SCHEME: LazyLock<Classification> = LazyLock::new(|| {
    Classification::from_toml(include_str!("../../schema/classification.toml")).unwrap()
});

fuzz_target!(|data: &[u8]| {
    let _ = Metadata::from_json(data, &SCHEME);
    // A correction: the same bytes as a patch over a valid record.
    if let Ok(patch) = serde_json::from_slice::<serde_json::Value>(data) {
        let mut base: serde_json::Value = serde_json::from_str(RECORD).unwrap();
        merge_patch(&mut base, &patch);
        let _ = Metadata::from_value(base, &SCHEME);
    }
});
