//! Hostile and broken files, made in code, for the tests that show a parser
//! cannot stop the server (spec §6): each one once stopped, hung or ballooned a
//! parser in the server process.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// A PDF from numbered object bodies (object 1 is the catalog), with a correct
/// cross-reference table; `trailer_extra` is added to the trailer dictionary.
fn raw_pdf(objects: &[Vec<u8>], trailer_extra: &str) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (n, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", n + 1).expect("in memory");
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).expect("in memory");
    for o in offsets {
        writeln!(out, "{o:010} 00000 n ").expect("in memory");
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R {trailer_extra} >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .expect("in memory");
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

const CATALOG: &[u8] = b"<< /Type /Catalog /Pages 2 0 R >>";
const PAGES: &[u8] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>";

/// A page that draws a Form XObject whose own resources name that same
/// XObject: a recursive reader overflows its stack.
pub fn recursive_xobject_pdf() -> Vec<u8> {
    raw_pdf(
        &[
            CATALOG.to_vec(),
            PAGES.to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /XObject << /X1 5 0 R >> >> >>".to_vec(),
            stream("", b"/X1 Do"),
            stream(
                "/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /XObject << /X1 5 0 R >> >>",
                b"/X1 Do",
            ),
        ],
        "",
    )
}

/// A page whose `/Parent` chain loops and that has no MediaBox: looking up the
/// inherited box never ends in a reader that does not track visited nodes.
pub fn looping_page_tree_pdf() -> Vec<u8> {
    raw_pdf(
        &[
            CATALOG.to_vec(),
            PAGES.to_vec(),
            b"<< /Type /Page /Parent 5 0 R /Contents 4 0 R >>".to_vec(),
            stream("", b"BT /F1 12 Tf 50 780 Td (loop) Tj ET"),
            b"<< /Type /Pages /Parent 6 0 R /Kids [3 0 R] /Count 1 >>".to_vec(),
            b"<< /Type /Pages /Parent 5 0 R /Kids [5 0 R] /Count 1 >>".to_vec(),
        ],
        "",
    )
}

/// A page whose content stream inflates to `inflated` bytes (zeros, which PDF
/// reads as whitespace) from about a thousandth of that.
pub fn inflate_bomb_pdf(inflated: usize) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(zeros.len());
        z.write_all(&zeros[..n]).expect("in memory");
        left -= n;
    }
    let data = z.finish().expect("in memory");
    raw_pdf(
        &[
            CATALOG.to_vec(),
            PAGES.to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
            stream("/Filter /FlateDecode", &data),
        ],
        "",
    )
}

/// A page dictionary holding `depth` nested arrays and `depth` nested
/// dictionaries: a recursive-descent parser overflows its stack.
pub fn deeply_nested_pdf(depth: usize) -> Vec<u8> {
    let mut page =
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Deep ".to_vec();
    page.extend(std::iter::repeat_n(b'[', depth));
    page.extend(std::iter::repeat_n(b']', depth));
    page.extend_from_slice(b" /Deeper ");
    page.extend(std::iter::repeat_n(&b"<< /A "[..], depth).flatten());
    page.extend(std::iter::repeat_n(&b">> "[..], depth).flatten());
    page.extend_from_slice(b">>");
    raw_pdf(
        &[CATALOG.to_vec(), PAGES.to_vec(), page, stream("", b"BT ET")],
        "",
    )
}

/// A PDF protected by an (unknown) user password, RC4 40-bit (R2).
pub fn encrypted_pdf() -> Vec<u8> {
    let o = "7A".repeat(32);
    let u = "3C".repeat(32);
    raw_pdf(
        &[
            CATALOG.to_vec(),
            PAGES.to_vec(),
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_vec(),
            stream("", b"\x8a\x11\x42\x90\x03"),
            format!("<< /Filter /Standard /V 1 /R 2 /O <{o}> /U <{u}> /P -44 >>").into_bytes(),
        ],
        &format!(
            "/Encrypt 5 0 R /ID [<{0}> <{0}>]",
            "0123456789ABCDEF0123456789ABCDEF"
        ),
    )
}

/// `bytes` of `<script></script>` repeated: quadratic for a scanner that looks
/// for each end tag from the start of the rest.
pub fn quadratic_html(bytes: usize) -> Vec<u8> {
    b"<script></script>"
        .repeat(bytes / 17)
        .into_iter()
        .chain(b"<p>end</p>".iter().copied())
        .collect()
}

/// A DOCX whose `word/document.xml` unpacks to `inflated` bytes.
pub fn docx_zip_bomb(inflated: usize) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(inflated as u64 > u32::MAX as u64);
    zip.start_file("word/document.xml", options)
        .expect("zip entry");
    zip.write_all(b"<w:document><w:body><w:p><w:r><w:t>")
        .expect("zip write");
    let spaces = vec![b' '; 1 << 20];
    let mut left = inflated;
    while left > 0 {
        let n = left.min(spaces.len());
        zip.write_all(&spaces[..n]).expect("zip write");
        left -= n;
    }
    zip.finish().expect("zip finish").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pdfs_have_a_readable_structure() {
        for pdf in [
            recursive_xobject_pdf(),
            looping_page_tree_pdf(),
            deeply_nested_pdf(10),
            encrypted_pdf(),
        ] {
            let text = String::from_utf8_lossy(&pdf);
            assert!(text.starts_with("%PDF-1.7") && text.ends_with("%%EOF\n"));
            let xref: usize = text
                .rsplit("startxref\n")
                .next()
                .and_then(|t| t.lines().next())
                .and_then(|n| n.parse().ok())
                .unwrap();
            assert!(pdf[xref..].starts_with(b"xref"));
        }
        let bomb = inflate_bomb_pdf(64 << 20);
        assert!(bomb.len() < 200 * 1024, "{}", bomb.len());
    }
}
