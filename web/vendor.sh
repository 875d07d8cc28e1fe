#!/usr/bin/env bash
# Refreshes web/vendor/ from the npm registry at the versions pinned in
# web/package.json (and package-lock.json). The server embeds web/vendor/ at
# compile time; `cargo build` never runs npm, so the copies are committed.
#   htmx    — partial page updates (search results, paging) without inline script
#   pdf.js  — PDF preview with a text layer; its CMaps and standard fonts are
#             served locally so Chinese PDFs render with no internet
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts
rm -rf vendor && mkdir -p vendor/htmx vendor/pdfjs
cp node_modules/htmx.org/dist/htmx.min.js node_modules/htmx.org/LICENSE vendor/htmx/
p=node_modules/pdfjs-dist
cp $p/build/pdf.min.mjs $p/build/pdf.worker.min.mjs $p/LICENSE vendor/pdfjs/
cp -r $p/cmaps $p/standard_fonts vendor/pdfjs/
echo "htmx.org $(node -p "require('./node_modules/htmx.org/package.json').version")" > vendor/VERSIONS
echo "pdfjs-dist $(node -p "require('./node_modules/pdfjs-dist/package.json').version")" >> vendor/VERSIONS
rm -rf node_modules
