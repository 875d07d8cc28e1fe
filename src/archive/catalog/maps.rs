//! The catalog's in-memory maps: what it keeps of each document, and the
//! lookups by archive number and VIN, which share their strings with it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::domain::DocumentId;
use crate::domain::ids::Series;

/// What the catalog keeps of each document (~220 bytes with its index
/// entries; strings are shared with the maps that look documents up).
pub(super) struct Slim {
    pub(super) archive_no: Arc<str>,
    pub(super) vin: Option<Arc<str>>,
    pub(super) revision: u64,
    /// For listing records past retention without reading every manifest.
    pub(super) retention_until: chrono::NaiveDate,
    pub(super) held: bool,
    /// Versions are numbered 1..=latest; content beyond is no version's.
    pub(super) latest_version: u32,
    /// An imported document's source key (`Source::key`), boxed: most
    /// documents have none.
    pub(super) source: Option<Box<[u8; 32]>>,
    /// The latest version's text waits for OCR.
    pub(super) ocr_pending: bool,
}

/// The document maps' hasher: a million entries are inserted at each start,
/// and SipHash made hashing a good part of that. Keys are server-made ids and
/// archive numbers, or VINs behind a filing permission; foldhash still seeds
/// itself per process.
pub(super) type Fast = foldhash::fast::RandomState;

#[derive(Default)]
pub(super) struct Inner {
    pub(super) docs: HashMap<DocumentId, Slim, Fast>,
    pub(super) by_archive_no: HashMap<Arc<str>, DocumentId, Fast>,
    /// A vehicle's documents (a handful each).
    pub(super) by_vin: HashMap<Arc<str>, Vec<DocumentId>, Fast>,
    /// Imported documents by source key.
    pub(super) by_source: HashMap<[u8; 32], DocumentId, Fast>,
    /// Highest sequence handed out per series, and numbers handed back unused.
    pub(super) counters: HashMap<Series, u64>,
    /// Highest sequence of a disposed document per series (from tombstones).
    pub(super) reserved: HashMap<Series, u64>,
    pub(super) returned: HashMap<Series, BTreeSet<u64>>,
    /// Documents whose manifest failed its integrity check at load.
    pub(super) damaged: BTreeSet<DocumentId>,
}

/// What a document's manifest says that the catalog keeps, besides its
/// archive number and VIN.
pub(super) struct Facts {
    pub(super) revision: u64,
    pub(super) retention_until: chrono::NaiveDate,
    pub(super) held: bool,
    pub(super) latest_version: u32,
    pub(super) source: Option<[u8; 32]>,
    pub(super) ocr_pending: bool,
}

impl Inner {
    /// Adds or replaces a document, sharing the strings with the maps.
    pub(super) fn put(
        &mut self,
        id: DocumentId,
        archive_no: &str,
        vin: Option<&str>,
        facts: Facts,
    ) {
        self.take(id);
        let archive_no: Arc<str> = match self.by_archive_no.get_key_value(archive_no) {
            Some((k, _)) => k.clone(),
            None => archive_no.into(),
        };
        self.by_archive_no.insert(archive_no.clone(), id);
        let vin = vin.map(|v| {
            let (key, ids) = match self.by_vin.get_key_value(v) {
                Some((k, _)) => (k.clone(), self.by_vin.get_mut(v).expect("present")),
                None => {
                    let key: Arc<str> = v.into();
                    (key.clone(), self.by_vin.entry(key).or_default())
                }
            };
            ids.push(id);
            key
        });
        self.docs.insert(
            id,
            Slim {
                archive_no,
                vin,
                revision: facts.revision,
                retention_until: facts.retention_until,
                held: facts.held,
                latest_version: facts.latest_version,
                source: facts.source.map(Box::new),
                ocr_pending: facts.ocr_pending,
            },
        );
        if let Some(key) = facts.source {
            self.by_source.insert(key, id);
        }
    }

    /// Removes a document from every map.
    pub(super) fn take(&mut self, id: DocumentId) -> Option<Slim> {
        let d = self.docs.remove(&id)?;
        self.by_archive_no.remove(&d.archive_no);
        if let Some(key) = &d.source {
            self.by_source.remove(&**key);
        }
        if let Some(vin) = &d.vin
            && let Some(ids) = self.by_vin.get_mut(vin)
        {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.by_vin.remove(vin);
            }
        }
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DocumentId;

    fn facts(revision: u64) -> Facts {
        Facts {
            revision,
            retention_until: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
            held: false,
            latest_version: 1,
            source: None,
            ocr_pending: false,
        }
    }

    #[test]
    fn the_maps_follow_puts_replacements_and_removals() {
        let mut inner = Inner::default();
        let (a, b) = (DocumentId::new(), DocumentId::new());
        let (v1, v2) = ("LSVAU2180N2183294", "LFV2A21K6A4061871");
        inner.put(a, "BJ01-WX-2026-000001", Some(v1), facts(1));
        inner.put(b, "BJ01-WX-2026-000002", Some(v1), facts(1));
        assert_eq!(inner.by_vin[v1].len(), 2);
        assert!(
            Arc::ptr_eq(
                inner.docs[&a].vin.as_ref().unwrap(),
                inner.docs[&b].vin.as_ref().unwrap()
            ),
            "one copy of a VIN"
        );
        // A correction moves document a to another vehicle.
        inner.put(a, "BJ01-WX-2026-000001", Some(v2), facts(2));
        assert_eq!(inner.by_vin[v1], vec![b]);
        assert_eq!(inner.by_vin[v2], vec![a]);
        assert_eq!(inner.docs[&a].revision, 2);
        assert_eq!(inner.by_archive_no["BJ01-WX-2026-000001"], a);
        inner.take(b);
        assert!(!inner.by_vin.contains_key(v1), "an empty vehicle goes");
        assert!(!inner.by_archive_no.contains_key("BJ01-WX-2026-000002"));
        assert_eq!(inner.docs.len(), 1);
    }
}
