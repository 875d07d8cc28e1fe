import sys, time, resource
from rapidocr import RapidOCR
eng = RapidOCR()
def cer(ref, hyp):
    import unicodedata
    ref = "".join(unicodedata.normalize("NFKC", ref).split()); hyp = "".join(unicodedata.normalize("NFKC", hyp).split())
    prev = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, b in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j-1] + 1, prev[j-1] + (a != b))
        prev = cur
    return prev[-1] / max(1, len(ref))
for path in sys.argv[1:]:
    t = time.time()
    r = eng(path)
    secs = time.time() - t
    text = "\n".join(r.txts) if r.txts else ""
    ref = open(path + ".txt").read()
    print(f"{path}: {secs:.1f} s, CER {cer(ref, text)*100:.2f}%, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB")
    print(text[:400])
