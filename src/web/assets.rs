//! The front desk's static files, compiled into the binary: our stylesheet and
//! scripts (`web/static/`) and the vendored libraries (`web/vendor/`: htmx,
//! pdf.js with its CMaps and standard fonts). Nothing is fetched from the
//! internet (spec §9: a dealership LAN).
//!
//! URLs carry a version — the first 12 hex digits of a SHA-256 over every
//! embedded file's own SHA-256 — so a page always loads the assets it was
//! built with, and the browser may keep them for a year.

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use rust_embed::Embed;
use sha2::{Digest, Sha256};

#[derive(Embed)]
#[folder = "web/static/"]
struct Static;

#[derive(Embed)]
#[folder = "web/vendor/"]
#[exclude = "*/LICENSE*"]
#[exclude = "VERSIONS"]
struct Vendor;

/// The assets' version, as it appears in their URLs.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<String> = Static::iter()
        .map(|n| format!("s/{n}"))
        .chain(Vendor::iter().map(|n| format!("v/{n}")))
        .collect();
    names.sort();
    let mut hash = Sha256::new();
    for name in names {
        let file = match name.split_at(2) {
            ("s/", n) => Static::get(n),
            (_, n) => Vendor::get(n),
        };
        hash.update(name.as_bytes());
        if let Some(f) = file {
            hash.update(f.metadata.sha256_hash());
        }
    }
    hex::encode(&hash.finalize()[..6])
});

/// The URL of an asset: `app.css`, or `vendor/pdfjs/pdf.min.mjs`.
pub fn url(path: &str) -> String {
    format!("/assets/{}/{path}", *VERSION)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ttf" => "font/ttf",
        "woff2" => "font/woff2",
        // pdf.js's packed CMaps and Type 1 fonts: fetched as bytes.
        _ => "application/octet-stream",
    }
}

/// `GET /assets/{version}/{path}`: an embedded file, or 404. A file of another
/// version (a page from before an upgrade) is served but not kept.
pub async fn serve(path: web::Path<(String, String)>) -> HttpResponse {
    let (version, path) = path.into_inner();
    let file = match path.strip_prefix("vendor/") {
        Some(rest) => Vendor::get(rest),
        None => Static::get(&path),
    };
    let Some(file) = file else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such asset");
    };
    let cache = if version == *VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    HttpResponse::Ok()
        .content_type(content_type(&path))
        .insert_header(("Cache-Control", cache))
        .body(file.data.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_libraries_and_our_scripts_are_embedded() {
        for path in ["app.js", "app.css", "filing.js", "preview.mjs"] {
            assert!(Static::get(path).is_some(), "{path}");
        }
        for path in [
            "htmx/htmx.min.js",
            "pdfjs/pdf.min.mjs",
            "pdfjs/pdf.worker.min.mjs",
            "pdfjs/cmaps/UniGB-UCS2-H.bcmap",
            "pdfjs/standard_fonts/FoxitSerif.pfb",
        ] {
            assert!(Vendor::get(path).is_some(), "{path}");
        }
        assert_eq!(VERSION.len(), 12);
        assert!(url("app.css").ends_with("/app.css"));
    }
}
