//! The ingest checks (四性检测) each filing records (spec §10, after GB/T
//! 18894-2016 and DA/T 70-2018): authenticity (真实性), integrity (完整性),
//! usability (可用性) and security (安全性). A check passes, warns (the
//! record is kept, a person should look) or fails (the record is kept and
//! flagged; for security, it is never previewed inline).
//!
//! The report is computed from what the filing knows: hashes and sizes, the
//! actor and source, the category's required fields, and what the extraction
//! child found in the bytes ([`Findings`]). No bytes are read here.

use serde::{Deserialize, Serialize};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

impl Status {
    /// As the report spells it: `pass`, `warn`, `fail`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check: its outcome and what was found, a sentence each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub status: Status,
    pub findings: Vec<String>,
}

impl Check {
    fn new() -> Self {
        Check {
            status: Status::Pass,
            findings: vec![],
        }
    }

    fn note(&mut self, status: Status, finding: String) {
        self.status = self.status.max(status);
        self.findings.push(finding);
    }
}

/// The four checks of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckReport {
    pub authenticity: Check,
    pub integrity: Check,
    pub usability: Check,
    pub security: Check,
}

/// The checks by name, as reports and receipts list them.
pub const CHECKS: [&str; 4] = ["authenticity", "integrity", "usability", "security"];

impl CheckReport {
    /// The checks with their names, in [`CHECKS`] order.
    pub fn each(&self) -> [(&'static str, &Check); 4] {
        [
            (CHECKS[0], &self.authenticity),
            (CHECKS[1], &self.integrity),
            (CHECKS[2], &self.usability),
            (CHECKS[3], &self.security),
        ]
    }

    /// Whether active content was found: such a version is offered only as a
    /// download, never shown inline.
    pub fn active_content(&self) -> bool {
        self.security.status == Status::Fail
    }
}

/// What the filing knows when it checks.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub sha256: &'a str,
    pub size: u64,
    /// The sender's declared SHA-256 and size (an import's source), if any.
    pub declared: Option<(&'a str, u64)>,
    pub source_path: Option<&'a str>,
    pub actor: &'a str,
    /// The category's required fields, all present (the filing refuses
    /// metadata without them, spec §2).
    pub required: &'a [String],
    /// The content type the file was sent as.
    pub content_type: &'a str,
    pub findings: &'a Findings,
    /// Why the text could not be extracted, if it could not.
    pub text_problem: Option<&'a str>,
    /// The text waits for OCR.
    pub ocr_pending: bool,
}

/// What the extraction child found in a file's bytes (`extract::inspect`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Findings {
    /// The media type the content shows (`None`: not recognised, e.g. text).
    pub format: Option<String>,
    /// Whether the bytes were examined whole (`false`: only the first bytes,
    /// the file being too large to hand to a child).
    pub examined: bool,
    /// Encrypted or password-protected content.
    pub encrypted: bool,
    /// Active content found, by name (`JavaScript`, `Launch`, `macros`).
    pub active: Vec<String>,
    /// A scan: an image, or a PDF whose pages have images and no text.
    pub scan: bool,
}

/// Formats whose text `infer` does not recognise by magic number: text-like
/// content sent as these is not a mismatch.
fn text_like(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(
            content_type,
            "application/json" | "application/xml" | "application/xhtml+xml"
        )
}

/// The report of one filing.
pub fn report(f: &Facts) -> CheckReport {
    let mut authenticity = Check::new();
    authenticity.note(
        Status::Pass,
        format!("SHA-256 {} computed on receipt", f.sha256),
    );
    authenticity.note(Status::Pass, format!("filed by {}", f.actor));
    if let Some(path) = f.source_path {
        authenticity.note(Status::Pass, format!("source: {path}"));
    }
    if let Some((sha, _)) = f.declared {
        let same = sha.eq_ignore_ascii_case(f.sha256);
        authenticity.note(
            if same { Status::Pass } else { Status::Fail },
            if same {
                "matches the SHA-256 the sender declared".to_string()
            } else {
                format!("differs from the SHA-256 the sender declared ({sha})")
            },
        );
    }

    let mut integrity = Check::new();
    if f.required.is_empty() {
        integrity.note(
            Status::Pass,
            "the category requires no metadata field".into(),
        );
    } else {
        integrity.note(
            Status::Pass,
            format!("required metadata present: {}", f.required.join(", ")),
        );
    }
    match f.declared {
        Some((_, size)) if size != f.size => integrity.note(
            Status::Fail,
            format!("{} bytes received, {size} declared", f.size),
        ),
        Some(_) => integrity.note(
            Status::Pass,
            format!("{} bytes received, as declared", f.size),
        ),
        None => integrity.note(Status::Pass, format!("{} bytes received whole", f.size)),
    }

    let mut usability = Check::new();
    let g = f.findings;
    match &g.format {
        Some(format) if format == f.content_type => usability.note(
            Status::Pass,
            format!("format {format}, identified by content"),
        ),
        Some(format) => usability.note(
            Status::Warn,
            format!("sent as {}, but the content is {format}", f.content_type),
        ),
        None if text_like(f.content_type) => usability.note(
            Status::Pass,
            format!("text ({}), no binary signature", f.content_type),
        ),
        None => usability.note(
            Status::Warn,
            format!(
                "format not identified by content (sent as {})",
                f.content_type
            ),
        ),
    }
    if g.encrypted {
        usability.note(
            Status::Fail,
            "the file is encrypted or password-protected".into(),
        );
    }
    if f.ocr_pending {
        usability.note(Status::Pass, "a scan: its text is read by OCR".into());
    } else if let Some(problem) = f.text_problem {
        usability.note(Status::Warn, format!("no text: {problem}"));
    } else {
        usability.note(Status::Pass, "the text was extracted".into());
    }

    let mut security = Check::new();
    if !g.active.is_empty() {
        security.note(
            Status::Fail,
            format!(
                "active content: {}; offered as a download only, never shown inline",
                g.active.join(", ")
            ),
        );
    } else if g.examined {
        security.note(
            Status::Pass,
            "no active content (scripts, launch actions, macros)".into(),
        );
    } else {
        security.note(
            Status::Warn,
            "not examined for active content (larger than the examination limit)".into(),
        );
    }
    CheckReport {
        authenticity,
        integrity,
        usability,
        security,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(findings: &'a Findings, required: &'a [String]) -> Facts<'a> {
        Facts {
            sha256: "ab",
            size: 10,
            declared: None,
            source_path: None,
            actor: "clerk",
            required,
            content_type: "application/pdf",
            findings,
            text_problem: None,
            ocr_pending: false,
        }
    }

    #[test]
    fn a_clean_pdf_passes_every_check() {
        let g = Findings {
            format: Some("application/pdf".into()),
            examined: true,
            ..Findings::default()
        };
        let r = report(&facts(&g, &["vehicle.vin".into()]));
        assert!(
            r.each().iter().all(|(_, c)| c.status == Status::Pass),
            "{r:?}"
        );
        assert!(!r.active_content());
    }

    #[test]
    fn active_content_encryption_and_a_mismatch_are_flagged() {
        let g = Findings {
            format: Some("image/jpeg".into()),
            examined: true,
            encrypted: true,
            active: vec!["JavaScript".into()],
            scan: false,
        };
        let mut f = facts(&g, &[]);
        f.declared = Some(("cd", 11));
        let r = report(&f);
        assert_eq!(r.authenticity.status, Status::Fail);
        assert_eq!(r.integrity.status, Status::Fail);
        assert_eq!(r.usability.status, Status::Fail);
        assert!(r.active_content());
        assert!(r.usability.findings[0].contains("image/jpeg"));
    }

    #[test]
    fn an_unexamined_file_warns() {
        let g = Findings::default();
        let mut f = facts(&g, &[]);
        f.content_type = "text/plain";
        let r = report(&f);
        assert_eq!(r.security.status, Status::Warn);
        assert_eq!(r.usability.status, Status::Pass);
    }
}
