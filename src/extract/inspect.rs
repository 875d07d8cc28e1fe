//! What the ingest checks (四性检测, spec §10) need to know of a file's bytes:
//! its format identified by content (magic numbers, read by the `infer`
//! crate), whether it is encrypted, whether it carries active content
//! (JavaScript or launch actions in a PDF, macros in an Office file), and
//! whether it is a scan that only OCR can make searchable.
//!
//! Runs in the extraction child with the parsers (see [`super::worker`]); only
//! [`sniff`] — a bounded comparison of the first bytes — also runs in the
//! server, for files too large to hand to a child. Every scan here is one pass
//! over the bytes.

use std::io::Read;

/// The findings of one file (the ingest checks' type).
pub use crate::domain::ingest::Findings as Inspection;

/// The content's media type from its first bytes, if it is one `infer` knows.
pub fn sniff(head: &[u8]) -> Option<String> {
    infer::get(head).map(|t| t.mime_type().to_string())
}

/// Image types OCR reads.
pub const SCAN_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/tiff"];

/// Inspects a whole file. `has_text`: whether its text could be extracted
/// (a PDF without text is a scan if it has images).
pub fn inspect(bytes: &[u8], has_text: bool) -> Inspection {
    let format = sniff(bytes);
    let mut found = Inspection {
        examined: true,
        ..Inspection::default()
    };
    match format.as_deref() {
        Some("application/pdf") => pdf(bytes, has_text, &mut found),
        Some(t) if SCAN_TYPES.contains(&t) => found.scan = true,
        Some("application/x-ole-storage" | "application/msword" | "application/vnd.ms-excel") => {
            ole(bytes, &mut found)
        }
        Some(t) if t.starts_with("application/vnd.openxmlformats") || t == "application/zip" => {
            ooxml(bytes, &mut found)
        }
        _ if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) => ole(bytes, &mut found),
        _ => {}
    }
    found.format = format;
    found
}

/// PDF names (`/JavaScript`, also spelt with `#xx` escapes as in
/// `/J#61vaScript`, ISO 32000-1 §7.3.5) that mark active content or
/// encryption. One pass over the bytes; names inside compressed object streams
/// are found by lopdf's reading of the objects.
fn pdf(bytes: &[u8], has_text: bool, found: &mut Inspection) {
    let mut images = false;
    let mut note = |name: &[u8], found: &mut Inspection| match name {
        b"JavaScript" | b"JS" => push(found, "JavaScript"),
        b"Launch" => push(found, "Launch"),
        b"Encrypt" => found.encrypted = true,
        b"Image" => images = true,
        _ => {}
    };
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'/' {
            i += 1;
            continue;
        }
        let mut name = Vec::new();
        i += 1;
        while i < bytes.len() && name.len() < 32 {
            let c = bytes[i];
            if c.is_ascii_whitespace() || b"/[]<>()%{}".contains(&c) {
                break;
            }
            if c == b'#'
                && i + 2 < bytes.len()
                && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                name.push(b);
                i += 3;
                continue;
            }
            name.push(c);
            i += 1;
        }
        note(&name, found);
    }
    if let Ok(doc) = lopdf::Document::load_mem(bytes) {
        for object in doc.objects.values() {
            let dict = match object {
                lopdf::Object::Dictionary(d) => d,
                lopdf::Object::Stream(s) => &s.dict,
                _ => continue,
            };
            for (key, value) in dict.iter() {
                note(key, found);
                if let lopdf::Object::Name(n) = value {
                    note(n, found);
                }
            }
        }
        if doc.trailer.has(b"Encrypt") {
            found.encrypted = true;
        }
    }
    found.scan = images && !has_text;
}

fn push(found: &mut Inspection, what: &str) {
    if !found.active.iter().any(|a| a == what) {
        found.active.push(what.to_string());
    }
}

/// OOXML (DOCX, XLSX, PPTX and their macro-enabled forms): a VBA project part
/// is macros; an encrypted entry is encryption.
fn ooxml(bytes: &[u8], found: &mut Inspection) {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return;
    };
    for i in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(i) else {
            continue;
        };
        let name = entry
            .name()
            .map(|n| n.to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with("vbaproject.bin") || name.ends_with(".bin") && name.contains("macro") {
            push(found, "macros");
        }
        if entry.encrypted() {
            found.encrypted = true;
        }
    }
    // A macro-enabled content type says so even when the part is named otherwise.
    if let Ok(mut types) = zip.by_name("[Content_Types].xml") {
        let mut xml = Vec::new();
        if types.by_ref().take(1 << 20).read_to_end(&mut xml).is_ok()
            && contains(&xml, b"macroEnabled")
        {
            push(found, "macros");
        }
    }
}

/// OLE compound files (Word 97–2003 and the like): a VBA project stream is
/// macros; an `EncryptedPackage` stream is an encrypted OOXML file. The
/// directory names are UTF-16LE.
fn ole(bytes: &[u8], found: &mut Inspection) {
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
    if contains(bytes, &utf16("_VBA_PROJECT")) || contains(bytes, &utf16("Macros")) {
        push(found, "macros");
    }
    if contains(bytes, &utf16("EncryptedPackage")) {
        found.encrypted = true;
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // Needles are a few dozen bytes: linear in the haystack.
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_javascript_is_found_even_with_escaped_names() {
        let plain =
            b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >> endobj";
        assert_eq!(inspect(plain, true).active, ["JavaScript"]);
        let escaped = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /J#61vaScript >> >> endobj";
        assert_eq!(inspect(escaped, true).active, ["JavaScript"]);
        let launch = b"%PDF-1.4\n1 0 obj << /A << /S /Launch /F (cmd.exe) >> >> endobj";
        assert_eq!(inspect(launch, true).active, ["Launch"]);
        let clean = crate::corpus::files::pdf_with_text(&["维修委托书"]);
        let found = inspect(&clean, true);
        assert!(found.active.is_empty() && !found.encrypted && !found.scan);
        assert_eq!(found.format.as_deref(), Some("application/pdf"));
    }

    #[test]
    fn scans_and_encryption_are_recognised() {
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /XObject /Subtype /Image >> endobj trailer << /Encrypt 2 0 R >>";
        let found = inspect(pdf, false);
        assert!(found.scan && found.encrypted);
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
        assert!(inspect(&jpeg, false).scan);
        assert_eq!(sniff(&jpeg).as_deref(), Some("image/jpeg"));
        assert_eq!(sniff("维修".as_bytes()), None);
    }

    #[test]
    fn office_macros_are_found() {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        zip.start_file("[Content_Types].xml", opts).unwrap();
        std::io::Write::write_all(&mut zip, b"<Types/>").unwrap();
        zip.start_file("word/document.xml", opts).unwrap();
        zip.start_file("word/vbaProject.bin", opts).unwrap();
        std::io::Write::write_all(&mut zip, b"VBA").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        assert_eq!(inspect(&bytes, true).active, ["macros"]);
        let mut ole_file = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        ole_file.extend("_VBA_PROJECT".encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(inspect(&ole_file, true).active, ["macros"]);
    }
}
