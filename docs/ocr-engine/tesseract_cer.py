from cer import cer
import sys, time, subprocess
for psm in ["3", "6"]:
    for path in sys.argv[1:]:
        t = time.time()
        out = subprocess.run(["tesseract", path, "-", "-l", "chi_sim+eng", "--psm", psm], capture_output=True, text=True).stdout
        print(f"psm {psm} {path}: {time.time()-t:.1f} s, CER {cer(open(path+'.txt').read(), out)*100:.2f}%")
