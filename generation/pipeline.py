"""Generation-model stages, each ``f(config, input_uri) -> small dict`` for CLI, pytest and Airflow.

    prepare_pairs(cfg)                 -> pairs manifest (train/test URIs, counts, exclusions, lineage)
    train_candidate(cfg, manifest_uri) -> registered candidate (perplexity before/after, sample metrics)
    gate_candidate(cfg, version)       -> decision vs production on the candidate's held-out pairs
    promote_candidate(cfg, gate_uri)   -> new registry index (atomic switch)

CLI: ``ugc train-generator --lake L [--set base_model=smollm2-135m] [--set method=lora] [--set max_steps=N]``
"""

from __future__ import annotations

import json
import logging
import os
import tempfile

import pyarrow as pa
import pyarrow.compute as pc

from generation import metrics, pairs
from generation.config import GenConfig
from ugc import lifecycle, registry, storage, textgen
from ugc.lifecycle import Check
from ugc.splits import read_split

log = logging.getLogger(__name__)


def prepare_pairs(cfg: GenConfig) -> dict:
    m = pairs.build(cfg)
    log.info("pairs %s: %s excluded %s", m["snapshot_id"], m["rows"], m["excluded"])
    return {k: m[k] for k in ("manifest_uri", "snapshot_id", "rows", "excluded")}


def _test_pairs(test_uri: str, tasks) -> pa.Table:
    """The held-out pairs of ``tasks``: every model in a comparison is scored on exactly these rows."""
    test = read_split(test_uri)
    return test.filter(pc.is_in(test["task"], pa.array(list(tasks))))


def _samples(model, tok, test, cfg: GenConfig) -> list[dict]:
    """Greedy outputs for the first held-out prompts of every task (same prompts before and after)."""
    rows, all_rows = [], test.to_pylist()
    for task in cfg.tasks:
        t = [r for r in all_rows if r["task"] == task][: max(1, cfg.sample_prompts // len(cfg.tasks))]
        if t:
            outs = textgen.generate(model, tok, [textgen.prompt(task, r["input"]) for r in t],
                                    textgen.Params(max_new_tokens=cfg.max_new_tokens, temperature=0.0))
            rows += [{"task": task, "input": r["input"], "reference": r["output"], "output": o}
                     for r, o in zip(t, outs, strict=True)]
    return rows


def _ranking(model, tok, cfg: GenConfig) -> dict | None:
    """R10@k on the first ``ranking_dialogues`` reserved Taobao dialogues, and greedy replies to 10 of them."""
    if not cfg.ranking_dialogues or "reply" not in cfg.tasks:
        return None
    from generation import ranking
    from ugc.dialogues import taobao_test

    items = taobao_test()
    r = ranking.evaluate(model, tok, items[: cfg.ranking_dialogues], cfg.max_length * 2)
    shown = items[:: len(items) // 10][:10]
    outs = textgen.generate(model, tok, [textgen.prompt("reply", textgen.thread(it.context)) for it in shown],
                            textgen.Params(max_new_tokens=cfg.max_new_tokens, temperature=0.0))
    r["dialogues_shown"] = [{"context": list(it.context), "true_reply": it.candidates[it.answer], "generated": o}
                            for it, o in zip(shown, outs, strict=True)]
    return r


def _evaluate(model, tok, test, cfg: GenConfig) -> dict:
    from generation import loop

    eval_rows = test.slice(0, cfg.eval_pairs)
    samples = _samples(model, tok, test, cfg)
    return {"perplexity": loop.perplexity(model, tok, eval_rows, cfg.max_length), "eval_pairs": eval_rows.num_rows,
            "generation": metrics.summarize([s["output"] for s in samples]), "samples": samples,
            "ranking": _ranking(model, tok, cfg)}


def train_candidate(cfg: GenConfig, manifest_uri: str) -> dict:
    """Score the base model, fine-tune (LoRA or full), score again on the same held-out pairs, register."""
    import torch

    from generation import loop, modeling

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    manifest = json.loads(storage.read_bytes(manifest_uri))
    train = read_split(manifest["train_uri"])
    test = _test_pairs(manifest["test_uri"], cfg.tasks)
    corpus = [textgen.prompt(r["task"], r["input"]) + r["output"] for r in train.to_pylist()]
    model, tok, notes = modeling.load(cfg.base_model, corpus, cfg.tiny_config, cfg.seed)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if torch.cuda.is_available():  # a GPU worker scores before and after there too (R10@k over 1,000 dialogues)
        model = model.cuda()
    before = _evaluate(model, tok, test, cfg)
    log.info("base perplexity %.3f", before["perplexity"])
    if cfg.method == "none":  # zero-shot: the card says so, and after == before by construction
        summary, after = {"steps": 0, "method": "none"}, before
    else:
        if cfg.method == "lora":
            model = modeling.add_lora(model, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout)
        summary = loop.fit(cfg, model, tok, train)
        if cfg.method == "lora":
            model = model.merge_and_unload()  # serve plain weights: no peft needed at inference
        after = _evaluate(model, tok, test, cfg)
    log.info("fine-tuned perplexity %.3f (base %.3f)", after["perplexity"], before["perplexity"])
    version = registry.new_version("g", manifest["snapshot_id"])
    lineage = {"data_snapshot_id": manifest["snapshot_id"], "partitions": manifest["partitions"],
               "pairs_manifest_uri": manifest_uri, "rows": manifest["rows"], "base_model": notes,
               "code_version": registry.code_version(), "run_id": cfg.run_id}
    summary_metrics = {"perplexity": after["perplexity"], "base_perplexity": before["perplexity"],
                       "eval_pairs": after["eval_pairs"],
                       **after["generation"], "base_generation": before["generation"]}
    if after["ranking"]:  # reserved Taobao R10@k, zero-shot base vs fine-tuned (same dialogues)
        summary_metrics["ranking"] = {k: v for k, v in after["ranking"].items() if k != "dialogues_shown"}
        summary_metrics["base_ranking"] = {k: v for k, v in before["ranking"].items() if k != "dialogues_shown"}
    with tempfile.TemporaryDirectory(prefix="ugc-gen-") as out:
        model.save_pretrained(out)
        tok.save_pretrained(out)
        files = {"train_config.json": cfg.to_dict(), "lineage.json": lineage,
                 "metrics.json": {"test": summary_metrics, "training": summary},
                 "samples.json": {"before": before["samples"], "after": after["samples"],
                                  "reserved_dialogues": {"before": (before["ranking"] or {}).get("dialogues_shown"),
                                                         "after": (after["ranking"] or {}).get("dialogues_shown")}},
                 "ugc_generation.json": {"tasks": list(cfg.tasks), "template": textgen.TEMPLATE,
                                            "max_prompt_tokens": cfg.max_length}}
        for name, obj in files.items():
            with open(os.path.join(out, name), "w", encoding="utf-8") as f:
                json.dump(obj, f, indent=1, ensure_ascii=False, default=str)
        card = {"task": "generation", "tasks": list(cfg.tasks), "method": cfg.method, "base_model": notes["name"],
                "data_snapshot_id": manifest["snapshot_id"], "test_uri": manifest["test_uri"],
                "test": summary_metrics, "training": summary, "code_version": lineage["code_version"]}
        uri = registry.register(cfg.registry, out, version, card)
    return {"version": version, "model_uri": uri, "perplexity": after["perplexity"],
            "base_perplexity": before["perplexity"], "training": summary}


def _champion_perplexity(cfg: GenConfig, champion: dict, challenger: dict) -> float:
    """Production's perplexity on the rows the challenger was scored on (re-scored unless they are the same).

    Those rows are the first ``eval_pairs`` held-out pairs of the challenger's tasks, as in train_candidate.
    """
    same_rows = ("data_snapshot_id", "tasks")
    if all(champion.get(k) == challenger.get(k) for k in same_rows) and \
            champion["test"].get("eval_pairs") == challenger["test"].get("eval_pairs"):
        return champion["test"]["perplexity"]
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from generation import loop

    test = _test_pairs(challenger["test_uri"], challenger["tasks"]).slice(0, challenger["test"]["eval_pairs"])
    with tempfile.TemporaryDirectory(prefix="ugc-champion-") as d:
        registry.fetch(cfg.registry, champion["version"], d)
        model, tok = AutoModelForCausalLM.from_pretrained(d), AutoTokenizer.from_pretrained(d)
        return loop.perplexity(model, tok, test, cfg.max_length)


def decide(gate, challenger: dict, champion_ppl: float | None) -> dict:
    t = challenger["test"]
    checks = [Check("beats_base", t["perplexity"], t["base_perplexity"] * gate.max_base_ppl_ratio, "<="),
              Check("max_repetition", t["repetition"], gate.max_repetition, "<="),
              Check("min_distinct_2", t["distinct_2"], gate.min_distinct_2, ">="),
              Check("max_safety_hit_rate", t["safety_hit_rate"], gate.max_safety_hit_rate, "<=")]
    if "ranking" in t:  # reserved Taobao R10@1: fine-tuning must not make the model pick worse replies
        checks.append(Check("r10_at_1_vs_base", t["ranking"]["R10@1"], t["base_ranking"]["R10@1"], ">="))
    if champion_ppl is not None:
        checks.append(Check("beats_champion", t["perplexity"], champion_ppl * (1 - gate.margin), "<="))
    return lifecycle.decide(checks, champion_perplexity=champion_ppl, challenger_perplexity=t["perplexity"])


def gate_candidate(cfg: GenConfig, version: str) -> dict:
    """Write and return the decision (does not raise; promote_candidate enforces it)."""
    challenger = registry.card(cfg.registry, version)
    champion = registry.production(cfg.registry)
    champ_ppl = _champion_perplexity(cfg, champion, challenger) if champion else None
    return lifecycle.record(cfg, decide(cfg.gate, challenger, champ_ppl), version, champion, cfg.gate)


def promote_candidate(cfg: GenConfig, decision_uri: str) -> dict:
    return lifecycle.promote(cfg, decision_uri, "gate passed: perplexity {challenger_perplexity:.3f}")
