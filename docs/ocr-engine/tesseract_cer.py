import sys, time, subprocess, unicodedata
def cer(ref, hyp):
    ref = "".join(unicodedata.normalize("NFKC", ref).split()); hyp = "".join(unicodedata.normalize("NFKC", hyp).split())
    prev = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, b in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j-1] + 1, prev[j-1] + (a != b))
        prev = cur
    return prev[-1] / max(1, len(ref))
for psm in ["3", "6"]:
    for path in sys.argv[1:]:
        t = time.time()
        out = subprocess.run(["tesseract", path, "-", "-l", "chi_sim+eng", "--psm", psm], capture_output=True, text=True).stdout
        print(f"psm {psm} {path}: {time.time()-t:.1f} s, CER {cer(open(path+'.txt').read(), out)*100:.2f}%")
