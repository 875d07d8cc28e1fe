//! Document identifiers: the opaque [`DocumentId`] and the human [`ArchiveNo`] (档案号).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::people::{Branch, truncate};

/// The opaque, random identifier of a document. Safe to use in object paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DocumentId(uuid::Uuid);

impl DocumentId {
    pub fn new() -> Self {
        DocumentId(uuid::Uuid::new_v4())
    }

    pub fn parse(raw: &str) -> Option<Self> {
        // Only the canonical hyphenated form: one spelling per document.
        if raw.len() != 36 {
            return None;
        }
        uuid::Uuid::try_parse(raw).ok().map(DocumentId)
    }
}

impl Default for DocumentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// The archive number, e.g. `BJ01-WX-2026-000123`: branch, category code, year and
/// a sequence per (branch, category, year). Assigned by the server, never reused.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArchiveNo {
    pub branch: Branch,
    pub category: String,
    pub year: i32,
    pub seq: u64,
}

/// The key of one archive-number sequence.
pub type Series = (Branch, String, i32);

impl ArchiveNo {
    pub fn series(&self) -> Series {
        (self.branch.clone(), self.category.clone(), self.year)
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let err = || {
            format!(
                "invalid archive number `{}`: expected a form such as BJ01-WX-2026-000123",
                truncate(raw, 40)
            )
        };
        let parts: Vec<&str> = raw.split('-').collect();
        let [branch, category, year, seq] = parts[..] else {
            return Err(err());
        };
        let branch = Branch::parse(branch).map_err(|_| err())?;
        if branch.is_all()
            || !(2..=4).contains(&category.len())
            || !category.bytes().all(|b| b.is_ascii_uppercase())
            || year.len() != 4
            || seq.len() < 6
            || !seq.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(err());
        }
        let year: i32 = year.parse().map_err(|_| err())?;
        let seq: u64 = seq.parse().map_err(|_| err())?;
        if seq == 0 {
            return Err(err());
        }
        Ok(ArchiveNo {
            branch,
            category: category.to_string(),
            year,
            seq,
        })
    }
}

impl fmt::Display for ArchiveNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}-{:04}-{:06}",
            self.branch, self.category, self.year, self.seq
        )
    }
}

impl TryFrom<String> for ArchiveNo {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        ArchiveNo::parse(&value)
    }
}

impl From<ArchiveNo> for String {
    fn from(a: ArchiveNo) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_numbers_round_trip() {
        let a = ArchiveNo::parse("BJ01-WX-2026-000123").unwrap();
        assert_eq!(a.seq, 123);
        assert_eq!(a.to_string(), "BJ01-WX-2026-000123");
        let big = ArchiveNo {
            seq: 1_234_567,
            ..a
        };
        assert_eq!(ArchiveNo::parse(&big.to_string()).unwrap(), big);
    }

    #[test]
    fn archive_numbers_reject_tricks() {
        for bad in [
            "",
            "BJ01-WX-2026",
            "*-WX-2026-000001",
            "BJ01-wx-2026-000001",
            "BJ01-WX-2026-000000",
            "../../etc/passwd",
        ] {
            assert!(ArchiveNo::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn document_ids_accept_only_canonical_uuids() {
        let id = DocumentId::new();
        assert_eq!(DocumentId::parse(&id.to_string()), Some(id));
        assert_eq!(DocumentId::parse("../etc"), None);
        assert_eq!(DocumentId::parse(&id.to_string().replace('-', "")), None);
    }
}
