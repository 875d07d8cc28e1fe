//! Exports of the disposal register (销毁清册): CSV for spreadsheets, and a PDF
//! certificate (销毁证明) to print, sign and file on paper.
//!
//! The certificate is printed by [`crate::printing`]. It carries the SHA-256 of the register entry, so a printed copy can be matched to
//! the entry in the archive. Register lines hold no personal data.

use crate::printing::{LEADING, MARGIN, PAGE_W, Page, SIZE, render, wrap};
use sha2::{Digest, Sha256};

use super::disposal::Disposal;
use crate::error::{Error, Result};

const CSV_HEADER: [&str; 12] = [
    "archive_no",
    "category",
    "branch",
    "service_date",
    "filed_at",
    "retention_until",
    "reason",
    "proposed_by",
    "proposed_at",
    "approved_by",
    "approved_at",
    "executed_at",
];

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

/// One CSV row per disposed record, with the batch's decision on each row;
/// cells neutralised for spreadsheets (a reason may begin with `=`).
pub fn to_csv(d: &Disposal) -> Result<Vec<u8>> {
    let io = |e: csv::Error| Error::internal(e.to_string());
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_HEADER).map_err(io)?;
    for l in &d.documents {
        w.write_record(
            [
                l.archive_no.clone(),
                l.category.clone(),
                l.branch.clone(),
                l.service_date.map(|d| d.to_string()).unwrap_or_default(),
                l.filed_at.to_rfc3339(),
                l.retention_until.to_string(),
                d.reason.clone(),
                d.proposed_by.clone(),
                d.proposed_at.to_rfc3339(),
                d.approved_by.clone().unwrap_or_default(),
                when(d.approved_at),
                when(d.executed_at),
            ]
            .map(crate::audit::query::neutralise),
        )
        .map_err(io)?;
    }
    w.into_inner().map_err(|e| Error::internal(e.to_string()))
}

/// The SHA-256 of the register entry as stored (its JSON form).
pub fn digest(d: &Disposal) -> String {
    let json = serde_json::to_vec(d).expect("a register entry serialises");
    hex::encode(Sha256::digest(&json))
}

/// Column x offsets of the record table.
const COLUMNS: [(f32, &str); 6] = [
    (0.0, "序号"),
    (32.0, "档号 archive_no"),
    (190.0, "类别"),
    (230.0, "门店"),
    (280.0, "业务日期"),
    (370.0, "保管期限至"),
];

fn table_header(page: &mut Page) {
    for (x, title) in COLUMNS {
        page.text(MARGIN + x, SIZE, title);
    }
    page.y -= LEADING;
    page.rule();
}

/// The certificate: the batch, its two persons and dates, every record, the digest.
pub fn to_pdf(d: &Disposal) -> Vec<u8> {
    let mut pages = vec![];
    let mut page = Page::new();
    page.text(MARGIN, 18.0, "档案销毁证明 (销毁清册)");
    page.y -= 30.0;
    let count = d.documents.len().to_string();
    let header = [
        ("销毁批次", d.id.clone()),
        ("状态", format!("{:?}", d.status).to_lowercase()),
        (
            "提出人",
            format!("{}  {}", d.proposed_by, d.proposed_at.to_rfc3339()),
        ),
        (
            "批准人(监销)",
            format!(
                "{}  {}",
                d.approved_by.as_deref().unwrap_or("—"),
                when(d.approved_at)
            ),
        ),
        ("执行时间", when(d.executed_at)),
        ("档案份数", count),
    ];
    for (label, value) in header {
        page.line(&format!("{label}:{value}"));
    }
    let max_em = (PAGE_W - 2.0 * MARGIN) / SIZE;
    for (i, l) in wrap(&format!("销毁原因:{}", d.reason), max_em)
        .into_iter()
        .enumerate()
    {
        if i < 12 {
            page.line(&l);
        }
    }
    page.line("销毁方式:内容密钥销毁(加密擦除)并删除内容对象;保留墓碑记录档号。");
    page.y -= LEADING / 2.0;
    table_header(&mut page);
    for (n, l) in d.documents.iter().enumerate() {
        if page.y < MARGIN + 3.0 * LEADING {
            pages.push(std::mem::take(&mut page));
            table_header(&mut page);
        }
        let cells = [
            (n + 1).to_string(),
            l.archive_no.clone(),
            l.category.clone(),
            l.branch.clone(),
            l.service_date.map(|d| d.to_string()).unwrap_or_default(),
            l.retention_until.to_string(),
        ];
        for ((x, _), cell) in COLUMNS.iter().zip(cells) {
            page.text(MARGIN + x, SIZE, &cell);
        }
        page.y -= LEADING;
    }
    if page.y < MARGIN + 4.0 * LEADING {
        pages.push(std::mem::take(&mut page));
    }
    page.y -= LEADING;
    page.line(&format!("登记摘要 SHA-256:{}", digest(d)));
    page.line("提出人签字:________________    监销人签字:________________");
    pages.push(page);
    render(pages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::records::disposal::{DisposalStatus, RegisterLine};
    use chrono::{NaiveDate, TimeZone, Utc};
    use lopdf::Document;

    fn disposal(n: usize) -> Disposal {
        let t = Utc.with_ymd_and_hms(2046, 3, 1, 9, 30, 0).unwrap();
        Disposal {
            id: "0b6f1d9c-2f2a-4a57-9a59-1d7c0c3f5e11".into(),
            status: DisposalStatus::Executed,
            reason: "保管期限届满,经鉴定无继续保存价值,按制度销毁。".into(),
            documents: (1..=n)
                .map(|i| RegisterLine {
                    document_id: crate::domain::DocumentId::new(),
                    archive_no: format!("BJ01-WX-2026-{i:06}"),
                    category: "WX".into(),
                    branch: "BJ01".into(),
                    service_date: NaiveDate::from_ymd_opt(2026, 3, 1),
                    filed_at: t,
                    retention_until: NaiveDate::from_ymd_opt(2036, 3, 1).unwrap(),
                })
                .collect(),
            proposed_by: "li.clerk".into(),
            proposed_at: t,
            approved_by: Some("zhang.super".into()),
            approved_at: Some(t),
            executed_at: Some(t),
            rejected_by: None,
            rejected_at: None,
            rejection_note: None,
            purge_pending: false,
        }
    }

    #[test]
    fn the_certificate_is_a_pdf_whose_text_names_every_record() {
        let d = disposal(90);
        let pdf = to_pdf(&d);
        assert!(pdf.starts_with(b"%PDF-1.7"));
        let parsed = Document::load_mem(&pdf).unwrap();
        assert_eq!(parsed.get_pages().len(), 3, "90 records span three pages");
        // Read back through the ToUnicode map, as a reader's copy-and-search does.
        let text = parsed.extract_text(&[1, 2, 3]).unwrap();
        for needle in [
            "档案销毁证明",
            "保管期限届满",
            "li.clerk",
            "zhang.super",
            "BJ01-WX-2026-000001",
            "BJ01-WX-2026-000090",
            &digest(&d),
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }

    #[test]
    fn csv_has_one_row_per_record() {
        let csv = String::from_utf8(to_csv(&disposal(3)).unwrap()).unwrap();
        assert_eq!(csv.lines().count(), 4);
        assert!(
            csv.lines()
                .nth(3)
                .unwrap()
                .starts_with("BJ01-WX-2026-000003,WX,BJ01,2026-03-01")
        );
    }
}
