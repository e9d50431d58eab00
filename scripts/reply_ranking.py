"""R10@k on the reserved Taobao test for one base model, zero-shot and after a LoRA fine-tune on the Taobao
training dialogues of a lake (README "Generation on real conversations"), on the same dialogues.

    ugc public-data --source taobao --out L --day 2026-10-03 && ugc ingest --day 2026-10-03 --landing L --lake K
    python scripts/reply_ranking.py --lake K --base qwen2.5-coder-0.5b --steps 150 --dialogues 100 [--save DIR]

Prints one JSON line per model: mean log-likelihood ranking and PMI ranking (the candidate's log-likelihood
given the dialogue minus given an empty one: generic replies stop winning), plus the training summary.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def _rank(model, tok, items) -> dict:
    from generation import ranking

    cond = np.array([ranking.score(model, tok, it.context, it.candidates) for it in items])
    prior = np.array([ranking.score(model, tok, [""], it.candidates) for it in items])
    answers = np.array([it.answer for it in items])
    return {"mean_loglik": ranking.recall_at(cond, answers), "pmi": ranking.recall_at(cond - prior, answers)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True)
    ap.add_argument("--base", default="qwen2.5-coder-0.5b")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--dialogues", type=int, default=100)
    ap.add_argument("--save", help="write the merged fine-tuned checkpoint here")
    a = ap.parse_args()
    import pyarrow.compute as pc

    from generation import loop, modeling, pairs
    from generation.config import GenConfig
    from ugc import dialogues

    items = dialogues.taobao_test()[: a.dialogues]
    cfg = GenConfig(lake_uri=a.lake, tasks=("reply",), base_model=a.base, max_pairs_per_task=1_000_000, lora_r=16,
                    lora_alpha=32, lr=3e-4, batch_size=8, max_length=128, max_steps=a.steps,
                    run_id=f"ranking-{a.base}-{a.steps}")
    _, train, _ = pairs.read(pairs.build(cfg)["manifest_uri"])
    train = train.filter(pc.starts_with(train["key"], "taobao:"))
    model, tok, notes = modeling.load(a.base)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    print(json.dumps({"model": a.base, "zero_shot": _rank(model.eval(), tok, items), "dialogues": len(items),
                      "assembled": notes.get("assembled", {}).get("sha256")}), flush=True)
    model = modeling.add_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
    summary = loop.fit(cfg, model, tok, train)
    model = model.merge_and_unload().eval()
    print(json.dumps({"model": a.base, "fine_tuned": _rank(model, tok, items), "train_pairs": train.num_rows,
                      "training": summary}), flush=True)
    if a.save:
        model.save_pretrained(a.save)
        tok.save_pretrained(a.save)


if __name__ == "__main__":
    main()
