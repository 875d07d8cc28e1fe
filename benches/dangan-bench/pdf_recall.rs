//! The PDF recall table (README, "PDF text"): how many words of each generated
//! dealership PDF variant each candidate reader returns. `pdf-extract` (the
//! pure-Rust reader the server used before) runs in-process here; poppler's
//! `pdftotext` (the server's reader now) through dangan's own parser, as the
//! extraction child runs it.
//!
//! ```text
//! cargo bench --bench dangan-bench -- --pdf-recall
//! ```

use dangan::corpus::pdf::{Variant, pdf_variant};
use dangan::extract::Parsers;
use unicode_normalization::UnicodeNormalization;

/// Words of `lines` found in `text`, after folding (NFKC) and without spaces.
fn recall(lines: &[&str], text: &str) -> (usize, usize) {
    let text: String = text.nfkc().filter(|c| !c.is_whitespace()).collect();
    let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
    let found = words.iter().filter(|w| text.contains(*w)).count();
    (found, words.len())
}

fn cell((found, total): (usize, usize)) -> String {
    format!("{found}/{total}")
}

pub fn table() -> String {
    let poppler = Parsers {
        pdftotext: dangan::extract::pool::find_pdftotext(),
        ..Parsers::default()
    };
    let mut md =
        String::from("| PDF variant | pdf-extract 0.12 | poppler pdftotext |\n|---|---|---|\n");
    for variant in Variant::ALL {
        let lines = variant.sample_lines();
        let pdf = pdf_variant(variant, &lines);
        let ours = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&pdf))
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let theirs = poppler.extract("application/pdf", &pdf).unwrap_or_default();
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            variant.name(),
            cell(recall(&lines, &ours)),
            if poppler.pdftotext.is_some() {
                cell(recall(&lines, &theirs))
            } else {
                "not installed".into()
            }
        ));
    }
    md
}
