//! Generated one-page PDFs in the ways dealership software writes Chinese text:
//! the variants the PDF recall table (README) and the extraction tests read.
//! No font is embedded in any of them: a reader must map codes to text through
//! a ToUnicode map or through the predefined CMap the font names.

use std::collections::BTreeMap;

use lopdf::content::{Content, Operation};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};

/// Turns a line into the bytes a font's encoding shows it with.
type Encoder = Box<dyn Fn(&str) -> Vec<u8>>;

/// How a PDF encodes its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// Helvetica, WinAnsi: English-only printouts.
    Simple,
    /// A Type0 font, Identity-H codes and a ToUnicode map (most DMS exports).
    IdentityToUnicode,
    /// STSong-Light with the predefined UniGB-UCS2-H CMap, no ToUnicode
    /// (e-invoices, older report writers).
    UniGbUcs2,
    /// STSong-Light with GBK-EUC-H: the text is GBK bytes, no ToUnicode.
    GbkEuc,
    /// STSong-Light with UniGB-UTF16-H: UTF-16BE codes, no ToUnicode.
    UniGbUtf16,
    /// Identity-H with ToUnicode on a page turned by `/Rotate 90`.
    Rotated,
    /// Identity-H with ToUnicode, the lines set in two columns side by side.
    MultiColumn,
}

impl Variant {
    pub const ALL: [Variant; 7] = [
        Variant::Simple,
        Variant::IdentityToUnicode,
        Variant::UniGbUcs2,
        Variant::GbkEuc,
        Variant::UniGbUtf16,
        Variant::Rotated,
        Variant::MultiColumn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Variant::Simple => "simple font (Helvetica, WinAnsi)",
            Variant::IdentityToUnicode => "Identity-H + ToUnicode",
            Variant::UniGbUcs2 => "predefined UniGB-UCS2-H, no ToUnicode",
            Variant::GbkEuc => "predefined GBK-EUC-H, no ToUnicode",
            Variant::UniGbUtf16 => "predefined UniGB-UTF16-H, no ToUnicode",
            Variant::Rotated => "rotated page (/Rotate 90)",
            Variant::MultiColumn => "two columns",
        }
    }

    /// Lines such a document carries (English for the simple font).
    pub fn sample_lines(self) -> Vec<&'static str> {
        match self {
            Variant::Simple => vec![
                "REPAIR ORDER WX-2026-000123",
                "VIN LFV2A21K2M3000001",
                "Brake pads replaced, road test passed",
            ],
            Variant::MultiColumn => vec![
                "委托书号 RO20261130001",
                "车牌号 京A12345",
                "维修项目 更换前刹车片",
                "结算金额 860元",
            ],
            _ => vec![
                "结算单 增值税电子普通发票",
                "车架号 LFV2A21K2M3000001",
                "故障描述 发动机异响 更换正时皮带",
            ],
        }
    }
}

/// A one-page PDF showing `lines` in `variant`'s encoding (for
/// [`Variant::MultiColumn`], the first half of the lines on the left).
pub fn pdf_variant(variant: Variant, lines: &[&str]) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let (font, encode): (ObjectId, Encoder) = match variant {
        Variant::Simple => (
            doc.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1",
                "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
            }),
            Box::new(|s: &str| s.bytes().collect()),
        ),
        Variant::UniGbUcs2 => (
            predefined_font(&mut doc, "UniGB-UCS2-H"),
            Box::new(|s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect()),
        ),
        Variant::UniGbUtf16 => (
            predefined_font(&mut doc, "UniGB-UTF16-H"),
            Box::new(|s: &str| s.encode_utf16().flat_map(u16::to_be_bytes).collect()),
        ),
        Variant::GbkEuc => (
            predefined_font(&mut doc, "GBK-EUC-H"),
            Box::new(|s: &str| encoding_rs::GBK.encode(s).0.into_owned()),
        ),
        Variant::IdentityToUnicode | Variant::Rotated | Variant::MultiColumn => {
            let codes = glyph_codes(lines);
            let font = identity_font(&mut doc, &codes);
            (
                font,
                Box::new(move |s: &str| s.chars().flat_map(|c| codes[&c].to_be_bytes()).collect()),
            )
        }
    };
    let placed: Vec<(i64, i64, &str)> = if variant == Variant::MultiColumn {
        let half = lines.len().div_ceil(2);
        lines
            .iter()
            .enumerate()
            .map(|(n, l)| {
                let (x, row) = if n < half { (50, n) } else { (320, n - half) };
                (x, 780 - 20 * row as i64, *l)
            })
            .collect()
    } else {
        lines
            .iter()
            .enumerate()
            .map(|(n, l)| (50, 780 - 20 * n as i64, *l))
            .collect()
    };
    let mut operations = vec![];
    for (x, y, line) in placed {
        operations.extend([
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 12.into()]),
            Operation::new("Td", vec![x.into(), y.into()]),
            Operation::new(
                "Tj",
                vec![Object::String(encode(line), StringFormat::Hexadecimal)],
            ),
            Operation::new("ET", vec![]),
        ]);
    }
    let content = Content { operations }
        .encode()
        .expect("page content encodes");
    let content_id = doc.add_object(Stream::new(dictionary! {}, content));
    let mut page = dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content_id,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    };
    if variant == Variant::Rotated {
        page.set("Rotate", 90);
    }
    let page = doc.add_object(page);
    finish(doc, pages_id, vec![page])
}

/// Writes the page tree and catalog, then the file.
pub(super) fn finish(mut doc: Document, pages_id: ObjectId, kids: Vec<ObjectId>) -> Vec<u8> {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids.into_iter().map(Object::from).collect::<Vec<_>>(),
            "Count" => count,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("writing to memory");
    out
}

fn descriptor(name: &str) -> Dictionary {
    dictionary! {
        "Type" => "FontDescriptor",
        "FontName" => name,
        "Flags" => 4,
        "FontBBox" => vec![0.into(), (-141).into(), 1000.into(), 859.into()],
        "ItalicAngle" => 0,
        "Ascent" => 859,
        "Descent" => -141,
        "CapHeight" => 859,
        "StemV" => 80,
    }
}

/// STSong-Light, the Adobe-GB1 font every PDF reader knows, with a predefined
/// CMap and no ToUnicode.
fn predefined_font(doc: &mut Document, cmap: &str) -> ObjectId {
    let cid_font = crate::printing::stsong_cid_font(doc);
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "STSong-Light",
        "Encoding" => cmap,
        "DescendantFonts" => vec![cid_font.into()],
    })
}

/// Each distinct character of `lines` gets a glyph code (CID) from 1.
fn glyph_codes(lines: &[&str]) -> BTreeMap<char, u16> {
    let mut codes: BTreeMap<char, u16> = BTreeMap::new();
    for c in lines.iter().flat_map(|l| l.chars()) {
        let next = codes.len() as u16 + 1;
        codes.entry(c).or_insert(next);
    }
    codes
}

/// A subset-named SimSun with Identity-H codes and a ToUnicode map.
fn identity_font(doc: &mut Document, codes: &BTreeMap<char, u16>) -> ObjectId {
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let pairs: Vec<(&char, &u16)> = codes.iter().collect();
    for block in pairs.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", block.len()));
        for (c, code) in block {
            let utf16: String = c
                .encode_utf16(&mut [0; 2])
                .iter()
                .map(|u| format!("{u:04X}"))
                .collect();
            cmap.push_str(&format!("<{code:04X}> <{utf16}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let to_unicode = doc.add_object(Stream::new(dictionary! {}, cmap.into_bytes()));
    let descriptor = doc.add_object(descriptor("AAAAAA+SimSun"));
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => "AAAAAA+SimSun",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "FontDescriptor" => descriptor,
        "CIDToGIDMap" => "Identity",
        "DW" => 1000,
    });
    doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "AAAAAA+SimSun",
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![cid_font.into()],
        "ToUnicode" => to_unicode,
    })
}
