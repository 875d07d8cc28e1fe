"""Character error rate of a page's reading: the edit distance over the
reference's length, whitespace removed, both sides NFKC-normalised (full-width
and half-width punctuation count as the same character)."""
import unicodedata


def cer(ref, hyp):
    ref = "".join(unicodedata.normalize("NFKC", ref).split())
    hyp = "".join(unicodedata.normalize("NFKC", hyp).split())
    prev = list(range(len(hyp) + 1))
    for i, a in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, b in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b))
        prev = cur
    return prev[-1] / max(1, len(ref))
