//! Printable PDF pages of text and simple tables: the disposal certificate
//! (销毁证明) and the import receipt (移交接收记录).
//!
//! The pages use the PDF standard CJK font STSong-Light with the UniGB-UCS2-H
//! encoding, which every conforming reader supplies (ISO 32000-1 §9.7.5.2), so
//! no font is embedded; a ToUnicode map keeps the text searchable and
//! extractable. A4 portrait, sizes in points.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, StringFormat, dictionary};

pub const PAGE_W: f32 = 595.0; // A4 in points
pub const PAGE_H: f32 = 842.0;
pub const MARGIN: f32 = 56.0;
pub const SIZE: f32 = 10.0;
pub const LEADING: f32 = 15.0;

/// Text as the font's UCS-2 codes (characters beyond the BMP become `?`).
fn ucs2(text: &str) -> Object {
    let mut bytes = Vec::with_capacity(text.len() * 2);
    for c in text.chars() {
        let code = u16::try_from(u32::from(c)).unwrap_or(u16::from(b'?'));
        bytes.extend_from_slice(&code.to_be_bytes());
    }
    Object::String(bytes, StringFormat::Hexadecimal)
}

/// Width of `text` in em: CJK and full-width characters 1, the rest ½.
pub fn width_em(text: &str) -> f32 {
    text.chars()
        .map(|c| if u32::from(c) >= 0x2E80 { 1.0 } else { 0.5 })
        .sum()
}

/// Splits `text` into lines no wider than `max_em`.
pub fn wrap(text: &str, max_em: f32) -> Vec<String> {
    let mut lines = vec![];
    let mut line = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if width_em(&line) + width_em(c.encode_utf8(&mut [0; 4])) > max_em {
            lines.push(std::mem::take(&mut line));
        }
        line.push(c);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

pub struct Page {
    pub ops: Vec<Operation>,
    pub y: f32,
}

impl Default for Page {
    fn default() -> Self {
        Self::new()
    }
}

impl Page {
    /// An empty page, writing from its top margin.
    pub fn new() -> Self {
        Page {
            ops: vec![],
            y: PAGE_H - MARGIN,
        }
    }

    pub fn text(&mut self, x: f32, size: f32, text: &str) {
        self.ops.extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), size.into()]),
            Operation::new("Td", vec![x.into(), self.y.into()]),
            Operation::new("Tj", vec![ucs2(text)]),
            Operation::new("ET", vec![]),
        ]);
    }

    pub fn line(&mut self, text: &str) {
        self.text(MARGIN, SIZE, text);
        self.y -= LEADING;
    }

    pub fn rule(&mut self) {
        let y = self.y + LEADING * 0.6;
        self.ops.extend([
            Operation::new("m", vec![MARGIN.into(), y.into()]),
            Operation::new("l", vec![(PAGE_W - MARGIN).into(), y.into()]),
            Operation::new("S", vec![]),
        ]);
    }
}

/// STSong-Light as an Adobe-GB1 CID font, not embedded: every PDF reader
/// knows it, so Chinese text shows without shipping a font. Its widths give
/// CIDs 1–95 (printable ASCII under UniGB-UCS2-H) half-width Latin.
pub fn stsong_cid_font(doc: &mut Document) -> lopdf::ObjectId {
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => "STSong-Light",
        "Flags" => 6,
        "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
        "ItalicAngle" => 0,
        "Ascent" => 880,
        "Descent" => -120,
        "CapHeight" => 880,
        "StemV" => 93,
    });
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType0",
        "BaseFont" => "STSong-Light",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("GB1"),
            "Supplement" => 4,
        },
        "FontDescriptor" => descriptor,
        "DW" => 1000,
        "W" => vec![1.into(), 95.into(), 500.into()],
    })
}

/// The font: STSong-Light, UCS-2 codes, with a ToUnicode map (code = code point).
fn add_font(doc: &mut Document) -> lopdf::ObjectId {
    let cid_font = stsong_cid_font(doc);
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for block in (0u32..256).collect::<Vec<_>>().chunks(100) {
        cmap.push_str(&format!("{} beginbfrange\n", block.len()));
        for hi in block {
            cmap.push_str(&format!("<{hi:02X}00> <{hi:02X}FF> <{hi:02X}00>\n"));
        }
        cmap.push_str("endbfrange\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.into_bytes()));
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "STSong-Light",
        "Encoding" => "UniGB-UCS2-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => to_unicode,
    })
}

/// The pages as one PDF, each numbered 第 n / N 页 at its foot.
pub fn render(pages: Vec<Page>) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = add_font(&mut doc);
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font },
    });
    let total = pages.len();
    let mut kids = vec![];
    for (n, mut page) in pages.into_iter().enumerate() {
        page.y = MARGIN - 20.0;
        page.text(
            PAGE_W - MARGIN - 60.0,
            8.0,
            &format!("第 {} / {} 页", n + 1, total),
        );
        let content = Content {
            operations: page.ops,
        };
        let bytes = content.encode().expect("encoding page content cannot fail");
        let mut stream = Stream::new(dictionary! {}, bytes);
        let _ = stream.compress();
        let content_id = doc.add_object(stream);
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), PAGE_W.into(), PAGE_H.into()],
            "Contents" => content_id,
            "Resources" => resources,
        })));
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => total as i64,
        }),
    );
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .expect("writing a PDF to memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_by_width() {
        let lines = wrap(&"维".repeat(100), 40.0);
        assert_eq!(lines.len(), 3);
        assert!(lines.iter().all(|l| width_em(l) <= 40.0));
        assert_eq!(wrap("ab", 1.0), vec!["ab"]);
    }
}
