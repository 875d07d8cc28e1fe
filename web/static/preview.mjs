// PDF preview with pdf.js: each page drawn on a canvas with its text layer
// (selectable, findable text), Chinese CMaps and standard fonts from this
// server, no eval and no WebAssembly (the pages' CSP allows neither).
const el = document.getElementById("pdf-preview");

async function show() {
  const pdfjs = await import(el.dataset.lib);
  pdfjs.GlobalWorkerOptions.workerSrc = el.dataset.worker;
  const pdf = await pdfjs.getDocument({
    url: el.dataset.src,
    cMapUrl: el.dataset.cmaps,
    cMapPacked: true,
    standardFontDataUrl: el.dataset.fonts,
    isEvalSupported: false,
    useWasm: false,
    enableXfa: false,
  }).promise;
  el.textContent = "";
  const width = Math.max(320, Math.min(el.clientWidth || 640, 900));
  const pages = Math.min(pdf.numPages, 30);
  for (let n = 1; n <= pages; n++) {
    const page = await pdf.getPage(n);
    const scale = width / page.getViewport({ scale: 1 }).width;
    const viewport = page.getViewport({ scale });
    const ratio = window.devicePixelRatio || 1;
    const wrap = document.createElement("div");
    wrap.className = "pdf-page";
    wrap.dataset.page = String(n);
    wrap.style.setProperty("--total-scale-factor", String(scale));
    wrap.style.width = `${Math.floor(viewport.width)}px`;
    wrap.style.height = `${Math.floor(viewport.height)}px`;
    const canvas = document.createElement("canvas");
    canvas.width = Math.floor(viewport.width * ratio);
    canvas.height = Math.floor(viewport.height * ratio);
    canvas.style.width = `${Math.floor(viewport.width)}px`;
    canvas.style.height = `${Math.floor(viewport.height)}px`;
    canvas.setAttribute("aria-hidden", "true");
    const text = document.createElement("div");
    text.className = "textLayer";
    wrap.append(canvas, text);
    el.append(wrap);
    await page.render({
      canvasContext: canvas.getContext("2d"),
      viewport,
      transform: ratio === 1 ? null : [ratio, 0, 0, ratio, 0, 0],
    }).promise;
    await new pdfjs.TextLayer({
      textContentSource: page.streamTextContent(),
      container: text,
      viewport,
    }).render();
  }
  el.dataset.rendered = String(pages);
}

if (el) {
  show().catch((e) => {
    el.textContent = el.dataset.failed;
    el.dataset.error = String(e && e.message);
  });
}
