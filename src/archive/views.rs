//! What callers are shown of a document: metadata with personal information
//! masked, the version list, and content handed out as verified bytes.

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::BoxStream;
use serde::Serialize;
use serde_json::Value;

use crate::domain::metadata::Metadata;
use crate::error::Result;
use crate::storage::manifest::{Manifest, Version};

#[derive(Debug, Serialize)]
pub struct VersionView {
    pub version: u32,
    pub sha256: String,
    pub size: u64,
    pub content_type: String,
    pub filename: String,
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The ingest checks made when it was filed (四性检测, spec §10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<crate::domain::ingest::CheckReport>,
    /// What OCR read of it: engine, confidence, lines, the VIN it suggests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr: Option<crate::storage::manifest::OcrOutcome>,
}

impl From<&Version> for VersionView {
    fn from(v: &Version) -> Self {
        VersionView {
            version: v.version,
            sha256: v.sha256.clone(),
            size: v.size,
            content_type: v.content_type.clone(),
            filename: v.filename.clone(),
            filed_by: v.filed_by.clone(),
            filed_at: v.filed_at,
            reason: v.reason.clone(),
            checks: v.checks.clone(),
            ocr: v.ocr.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CorrectionView {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
    pub fields: Vec<String>,
    pub old: Value,
    pub new: Value,
}

#[derive(Debug, Serialize)]
pub struct DocumentView {
    pub id: String,
    pub archive_no: String,
    /// The metadata as filed or last corrected, personal information masked.
    #[serde(flatten)]
    pub metadata: Value,
    pub branch: String,
    pub confidentiality: String,
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
    pub retention_until: NaiveDate,
    pub legal_hold: Option<Value>,
    pub current_version: u32,
    pub versions: Vec<VersionView>,
    pub corrections: Vec<CorrectionView>,
    /// Whether the latest version's text is searchable, and if not, why.
    pub text: Option<crate::extract::TextStatus>,
}

/// The free-text fields of metadata, where personal data may be typed in.
const FREE_TEXT: [&str; 3] = ["title", "summary", "transcript"];

/// Masks phone and ID numbers inside the free-text fields of a metadata value
/// (spec §3), and drops `transcript` — content — for a caller who may not read
/// the document's content (an auditor's metadata view).
fn mask_free_text_fields(value: &mut Value, content: bool) {
    let Value::Object(map) = value else { return };
    if !content {
        map.remove("transcript");
    }
    for field in FREE_TEXT {
        if let Some(Value::String(s)) = map.get_mut(field) {
            *s = crate::domain::free_text::mask_free_text(s).0;
        }
    }
}

/// Metadata as JSON with the customer's phone and ID number masked
/// (`138****1234`, `110***********1234`), in the structured fields and in free
/// text.
pub fn masked_metadata(m: &Metadata) -> Value {
    let mut value = serde_json::to_value(m).expect("metadata always serialises");
    mask_free_text_fields(&mut value, true);
    if let Some(c) = &m.customer {
        if let Some(p) = &c.phone {
            value["customer"]["phone"] = p.masked().into();
        }
        if let Some(id) = &c.id_number {
            value["customer"]["id_number"] = id.masked().into();
        }
    }
    // Branch and level are shown as effective values at the top level.
    if let Value::Object(map) = &mut value {
        map.remove("branch");
        map.remove("confidentiality");
    }
    value
}

/// Metadata as JSON, personal information in full.
fn plain_metadata(m: &Metadata) -> Value {
    let mut value = serde_json::to_value(m).expect("metadata always serialises");
    if let Value::Object(map) = &mut value {
        map.remove("branch");
        map.remove("confidentiality");
    }
    value
}

/// Masks the personal fields of a metadata JSON value kept in a correction.
pub fn mask_value(v: &Value) -> Value {
    let mut v = v.clone();
    mask_free_text_fields(&mut v, true);
    for field in ["phone", "id_number"] {
        if let Some(s) = v
            .get("customer")
            .and_then(|c| c.get(field))
            .and_then(Value::as_str)
        {
            let masked = match field {
                "phone" => crate::domain::pii::Phone::parse(s).map(|p| p.masked()),
                _ => crate::domain::pii::IdNumber::parse(s).map(|p| p.masked()),
            };
            v["customer"][field] = masked.unwrap_or_else(|_| "****".into()).into();
        }
    }
    v
}

impl DocumentView {
    pub fn of(m: &Manifest) -> Self {
        Self::shown(m, false)
    }

    /// The view with the customer's phone and ID number in full, for callers the
    /// masking rules allow.
    pub fn unmasked(m: &Manifest) -> Self {
        Self::shown(m, true)
    }

    /// The view for a caller who sees metadata but may not read content: no
    /// transcript, in the document or in its corrections (spec §3).
    pub fn without_content(m: &Manifest) -> Self {
        let mut view = Self::shown(m, false);
        mask_free_text_fields(&mut view.metadata, false);
        for c in &mut view.corrections {
            mask_free_text_fields(&mut c.old, false);
            mask_free_text_fields(&mut c.new, false);
            c.fields.retain(|f| f != "transcript");
        }
        view
    }

    fn shown(m: &Manifest, unmask: bool) -> Self {
        DocumentView {
            id: m.id.to_string(),
            archive_no: m.archive_no.to_string(),
            metadata: if unmask {
                plain_metadata(&m.metadata)
            } else {
                masked_metadata(&m.metadata)
            },
            branch: m.branch.to_string(),
            confidentiality: m.confidentiality.to_string(),
            filed_by: m.filed_by.clone(),
            filed_at: m.filed_at,
            retention_until: m.retention_until,
            legal_hold: m
                .legal_hold
                .as_ref()
                .map(|h| serde_json::to_value(h).expect("serialises")),
            current_version: m.latest().version,
            versions: m.versions.iter().map(VersionView::from).collect(),
            corrections: m
                .corrections
                .iter()
                .map(|c| CorrectionView {
                    at: c.at,
                    by: c.by.clone(),
                    reason: crate::domain::free_text::mask_free_text(&c.reason).0,
                    fields: c.fields.clone(),
                    old: mask_value(&c.old),
                    new: mask_value(&c.new),
                })
                .collect(),
            text: m.text.clone(),
        }
    }
}

/// One line of a vehicle's archive.
#[derive(Debug, Serialize)]
pub struct DocumentSummary {
    pub id: String,
    pub archive_no: String,
    pub category: String,
    pub title: String,
    pub branch: String,
    pub service_date: Option<NaiveDate>,
    pub filed_at: DateTime<Utc>,
    pub current_version: u32,
    pub retention_until: NaiveDate,
    pub legal_hold: bool,
}

impl DocumentSummary {
    pub fn of(m: &Manifest) -> Self {
        DocumentSummary {
            id: m.id.to_string(),
            archive_no: m.archive_no.to_string(),
            category: m.metadata.category.clone(),
            title: crate::domain::free_text::mask_free_text(&m.metadata.title).0,
            branch: m.branch.to_string(),
            service_date: m.metadata.service_date(),
            filed_at: m.filed_at,
            current_version: m.latest().version,
            retention_until: m.retention_until,
            legal_hold: m.legal_hold.is_some(),
        }
    }
}

/// The bytes of one version: whole and already verified, or a stream that
/// verifies as it goes and ends in an error (aborting the response) on damage.
pub enum ContentBody {
    Verified(Bytes),
    Streaming(BoxStream<'static, Result<Bytes>>),
}

pub struct Content {
    pub version: VersionView,
    pub body: ContentBody,
}
