from cer import cer
import sys, time, resource
from rapidocr import RapidOCR
eng = RapidOCR()
for path in sys.argv[1:]:
    t = time.time()
    r = eng(path)
    secs = time.time() - t
    text = "\n".join(r.txts) if r.txts else ""
    ref = open(path + ".txt").read()
    print(f"{path}: {secs:.1f} s, CER {cer(ref, text)*100:.2f}%, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024:.0f} MiB")
    print(text[:400])
