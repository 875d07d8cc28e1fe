"""OCR of one image for dangan's extraction child.

Reads the image bytes (JPEG, PNG or TIFF; every frame of a multi-page TIFF) on
stdin and writes one JSON object on stdout:

    {"text": "...", "confidence": 0.97, "lines": 9}

`text` is the lines in reading order (top to bottom, then left to right within
a line) joined by "\\n"; `confidence` is the mean score of the recognised text
boxes, or null when there is no text; `lines` is the number of lines. On any
failure it writes {"error": "..."} and exits 1.

The engine is rapidocr on onnxruntime with the models its wheel carries, so
nothing is downloaded. Run it as `python3 -I -B -c "$(cat ocr.py)"` in an
environment of ORT_DISABLE_TELEMETRY=1 (else onnxruntime writes a device id
and an event cache under ~/.cache and may upload them), OMP_NUM_THREADS=1 and
OPENBLAS_NUM_THREADS=1 (else numpy's OpenBLAS starts a thread per core);
MALLOC_ARENA_MAX=1 lowers the address space it needs by 60-200 MiB.
onnxruntime is held to two threads here. It writes no file.
"""
import io
import json
import sys

THREADS = 2
MAX_SIDE = 2000  # rapidocr shrinks larger images to this before detection
MAX_PIXELS = 100_000_000  # refused before decoding (A3 at 600 dpi is 70 MP)


def reply(obj, code=0):
    sys.stdout.buffer.write(json.dumps(obj, ensure_ascii=False).encode("utf-8", "replace") + b"\n")
    sys.stdout.flush()
    sys.exit(code)


def open_image(data):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # checked per frame instead
    try:
        return Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "TIFF"])
    except Image.UnidentifiedImageError:
        raise ValueError("not a JPEG, PNG or TIFF image") from None


def frames(img):
    """Each frame as an upright (per EXIF) RGB image of at most MAX_SIDE
    pixels a side, transparency on white, 16-bit grey scaled to 8 bits. A
    JPEG larger than that is decoded at reduced scale."""
    import numpy as np
    from PIL import Image, ImageOps, ImageSequence

    for frame in ImageSequence.Iterator(img):
        if frame.width * frame.height > MAX_PIXELS:
            raise ValueError(f"image of {frame.width} x {frame.height} pixels is too large")
        frame.thumbnail((MAX_SIDE, MAX_SIDE))
        frame = ImageOps.exif_transpose(frame)
        if frame.mode.startswith("I") or frame.mode == "F":
            a = np.asarray(frame, dtype=np.float32)
            frame = Image.fromarray((a * (255 / max(float(a.max()), 1.0))).astype(np.uint8))
        if "A" in frame.mode or "transparency" in frame.info:
            frame = frame.convert("RGBA")
            frame = Image.alpha_composite(Image.new("RGBA", frame.size, "white"), frame)
        yield frame.convert("RGB")


def reading_order(boxes, txts):
    """The boxes' texts as lines: taken by vertical centre, a box joins the
    line of the box before it when its centre lies within that box's height;
    a line reads left to right."""
    items = []
    for box, txt in zip(boxes, txts):
        top, bottom = min(p[1] for p in box), max(p[1] for p in box)
        items.append((top, bottom, (top + bottom) / 2, min(p[0] for p in box), txt))
    items.sort(key=lambda it: it[2])
    lines, last = [], None
    for it in items:
        if last is not None and last[0] <= it[2] <= last[1]:
            lines[-1].append(it)
        else:
            lines.append([it])
        last = it
    return [" ".join(it[4] for it in sorted(line, key=lambda it: it[3])) for line in lines]


def describe(e):
    """One line for an exception: rapidocr wraps onnxruntime's in a traceback,
    whose last line is the cause."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    last = lines[-1][:240] if lines else type(e).__name__
    if isinstance(e, MemoryError) or any(
        s in last for s in ("bad_alloc", "failed to map segment", "Cannot allocate memory")
    ):
        return f"out of memory: {last}"
    return f"{type(e).__name__}: {last}"


def main():
    data = sys.stdin.buffer.read()
    if not data:
        raise ValueError("no image on stdin")
    img = open_image(data)  # junk fails here, before the engine loads

    import cv2
    from rapidocr import RapidOCR

    cv2.setNumThreads(1)
    engine = RapidOCR(params={
        "Global.log_level": "critical",
        "Global.max_side_len": MAX_SIDE,
        "EngineConfig.onnxruntime.intra_op_num_threads": THREADS,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })
    lines, scores = [], []
    for frame in frames(img):
        r = engine(frame)
        if r.txts:
            lines += reading_order(r.boxes.tolist(), r.txts)
            scores += r.scores
    reply({
        "text": "\n".join(lines),
        "confidence": round(sum(scores) / len(scores), 4) if scores else None,
        "lines": len(lines),
    })


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # MemoryError, decoder and engine errors
        reply({"error": describe(e)}, 1)
