"""How often int8 alone and the cascade change the production model's labels, per expert: on the deploy's test
rows (cross-fitted, as the gate judges) and on the lake's reserved real text, which no model trained on and
nothing here fits to (the margin comes from the test rows; agreement with fp32 needs no label).

Usage: python scripts/variant_agreement.py --lake data/lake [--rows 2000] [--reserved 1500] [--safety 1.0]
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def reserved_texts(lake: str, limit: int) -> dict[str, list[str]]:
    """source -> up to ``limit`` reserved texts of the lake (post_id ``heldout:<source>:...``), in file order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ugc.splits import RESERVED_PREFIX

    out: dict[str, list[str]] = {}
    for f in sorted(glob.glob(os.path.join(lake, "posts", "dt=*", "*.parquet"))):
        t = pq.read_table(f, columns=["post_id", "text"])
        t = t.filter(pc.starts_with(t["post_id"], RESERVED_PREFIX))
        for pid, text in zip(t["post_id"].to_pylist(), t["text"].to_pylist(), strict=True):
            src = out.setdefault(pid.split(":")[1], [])
            if len(src) < limit:
                src.append(text)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lake", required=True)
    ap.add_argument("--registry", help="default: {lake}/registry/sentiment")
    ap.add_argument("--rows", type=int, default=2000, help="test rows, as deploy's variant_eval_rows")
    ap.add_argument("--reserved", type=int, default=1500, help="reserved texts per source")
    ap.add_argument("--safety", type=float, default=1.0)
    a = ap.parse_args()
    from serving import export, variants
    from serving.triton_models import runners
    from ugc import lang, registry

    reg = a.registry or os.path.join(a.lake, "registry", "sentiment")
    card = registry.production(reg)
    model_dir = registry.fetch_cached(reg, card["version"])
    routes = registry.read_routes(model_dir)
    experts = list(routes["experts"]) if routes else [lang.DEFAULT_EXPERT]
    texts, _, _ = variants.eval_rows(reg, card, a.rows)
    sets = {"frozen test": texts, **reserved_texts(a.lake, a.reserved)}
    print(f"model {card['version']}; " + ", ".join(f"{k} {len(v)}" for k, v in sets.items()))
    with tempfile.TemporaryDirectory() as tmp:
        for key in experts:
            d = lang.expert_dir(model_dir, key) if routes else model_dir
            fp32 = export.export_onnx(d, f"{tmp}/{key}.onnx")
            int8 = variants.quantize_int8(fp32, f"{tmp}/{key}.int8.onnx")
            max_length = registry.read_label_map(d)["max_length"]
            run32, run8 = runners.onnx_runner(fp32, 1)[0], runners.onnx_runner(int8, 1)[0]
            margin = None
            for name, rows in sets.items():
                if routes:
                    rows = [t for t, k in zip(rows, lang.route(experts, rows), strict=True) if k == key]
                if not rows:
                    continue
                ids, mask = export.tokenize_like_triton(os.path.join(d, "tokenizer.json"), rows, max_length)
                l32, l8 = runners.run_bucketed(run32, ids, mask), runners.run_bucketed(run8, ids, mask)
                err = l8 - l32
                span = err.max(1) - err.min(1)
                if margin is None:  # the test rows come first: the margin deploy would serve
                    margin = variants.cascade_margin(l8, l32, a.safety)
                    labels, redo = variants.cross_fitted(l8, l32, a.safety)
                else:
                    labels, redo = variants.cascade_labels(l8, l32, margin)
                ref = l32.argmax(1)
                print(f"{key:>8} {name:>12} rows {len(rows):5d}: int8 agreement {np.mean(l8.argmax(1) == ref):.4f}, "
                      f"cascade {np.mean(labels == ref):.4f} (margin {margin:.3f}, re-run {redo.mean():.3f}); "
                      f"error span p50/p99/max {np.quantile(span, 0.5):.3f}/{np.quantile(span, 0.99):.3f}/"
                      f"{span.max():.3f}", flush=True)


if __name__ == "__main__":
    main()
