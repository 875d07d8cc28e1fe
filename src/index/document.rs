//! Turning a manifest and its extracted text into an index document.

use chrono::Datelike;
use hmac::{KeyInit, Mac};
use tantivy::TantivyDocument;

use super::analysis::{mask_pii, normalize};
use super::schema::Fields;
use crate::domain::Level;
use crate::storage::manifest::Manifest;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Keyed hash of a normalised phone or ID number: lets an exact lookup find the
/// document without the index holding the number.
pub fn pii_key(key: &[u8; 32], value: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn epoch_day(date: chrono::NaiveDate) -> u64 {
    date.num_days_from_ce().saturating_sub(719_163).max(0) as u64
}

/// The text content of a document as the index keeps it.
pub fn build(
    fields: &Fields,
    pii_index_key: &[u8; 32],
    calendar: &crate::domain::calendar::Calendar,
    m: &Manifest,
    body: &str,
) -> TantivyDocument {
    let md = &m.metadata;
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.id, m.id.to_string());
    doc.add_text(fields.archive_no, m.archive_no.to_string());
    doc.add_u64(fields.revision, m.revision);
    doc.add_text(fields.title, &mask_pii(&md.title).0);
    let mut meta = vec![md.title.clone(), m.archive_no.to_string()];
    meta.extend(md.summary.clone());
    meta.extend(md.tags.iter().cloned());
    if let Some(v) = &md.vehicle {
        meta.extend(v.model.clone());
    }
    if let Some(c) = &md.customer {
        meta.extend(c.name.clone());
    }
    if let Some(s) = &md.service {
        meta.extend(s.order_no.clone());
        meta.extend(s.technician.clone());
        meta.extend(s.items.iter().cloned());
    }
    let (meta_text, _) = mask_pii(&normalize(&meta.join("\n")));
    let mut body_text = normalize(body);
    if let Some(t) = &md.transcript {
        body_text.push('\n');
        body_text.push_str(&normalize(t));
    }
    let (body_text, found) = mask_pii(&body_text);
    doc.add_text(fields.meta_chars, &meta_text);
    doc.add_text(fields.body_chars, &body_text);
    doc.add_text(fields.meta_bigrams, &meta_text);
    // The line break is a gap: no bigram or phrase spans metadata and content.
    let all_text = format!("{meta_text}\n{body_text}");
    doc.add_text(fields.all_bigrams, &all_text);
    doc.add_text(fields.words, all_text);
    doc.add_text(fields.category, &md.category);
    doc.add_text(fields.branch, m.branch.as_str());
    doc.add_text(fields.level, m.confidentiality.as_str());
    for level in [
        Level::Public,
        Level::Internal,
        Level::Confidential,
        Level::Restricted,
    ] {
        if level >= m.confidentiality {
            doc.add_text(fields.clearance, level.as_str());
        }
    }
    if let Some(vin) = md.vin() {
        let v = vin.as_str();
        doc.add_text(fields.vin, v);
        for key in [v, &v[9..], &v[11..]] {
            doc.add_text(fields.vin_keys, key);
        }
    }
    if let Some(p) = md.vehicle.as_ref().and_then(|v| v.plate.as_ref()) {
        doc.add_text(fields.plate, p.as_str());
    }
    if let Some(o) = md.service.as_ref().and_then(|s| s.order_no.as_ref()) {
        doc.add_text(fields.order_no, o);
    }
    for t in &md.tags {
        doc.add_text(fields.tags, t);
    }
    let mut pii: Vec<String> = found;
    if let Some(c) = &md.customer {
        pii.extend(c.phone.as_ref().map(|p| p.as_str().to_string()));
        pii.extend(c.id_number.as_ref().map(|p| p.as_str().to_string()));
    }
    pii.sort();
    pii.dedup();
    for value in pii {
        doc.add_text(fields.pii, pii_key(pii_index_key, &value));
    }
    let date = md
        .service_date()
        .unwrap_or_else(|| calendar.day_of(m.filed_at));
    doc.add_u64(fields.day, epoch_day(date));
    doc.add_text(fields.service_date, date.to_string());
    doc.add_u64(fields.year, date.year().max(0) as u64);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_days_count_from_1970() {
        assert_eq!(
            epoch_day(chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()),
            0
        );
        assert_eq!(
            epoch_day(chrono::NaiveDate::from_ymd_opt(1970, 1, 2).unwrap()),
            1
        );
    }

    #[test]
    fn pii_keys_depend_on_the_key() {
        assert_ne!(
            pii_key(&[1; 32], "13812341234"),
            pii_key(&[2; 32], "13812341234")
        );
        assert_eq!(pii_key(&[1; 32], "13812341234").len(), 64);
    }
}
