"""A routed sentiment model: one expert per configured language, each fine-tuned on its own language's rows.

Why: m3e-small's Chinese-BERT vocabulary splits English words into pieces ("terrible" -> te ##rr ##ible) and
its pretraining is Chinese; an English encoder fine-tuned on the same English rows scored higher on English
(README "Sentiment on real text"). One model cannot hold both vocabularies, so texts are routed by script
(``ugc.lang.route``, the rule ingest writes into ``lang`` and Triton's classifier applies) and every expert is an
ordinary classifier trained by ``training.loop.fit`` on the rows routed to it, with its own checkpoints
(``{work}/experts/<key>/``), so a killed run resumes per expert.
"""

from __future__ import annotations

import pyarrow as pa

from training import loop, modeling
from training.config import TrainConfig
from ugc import lang, storage
from ugc.errors import ConfigError


def plan(cfg: TrainConfig) -> dict[str, str]:
    """Expert key -> base model, DEFAULT_EXPERT (``base_model``, every language without its own) first."""
    return {lang.DEFAULT_EXPERT: cfg.base_model, **dict(sorted(cfg.experts.items()))}


def split(table: pa.Table, keys: list[str]) -> dict[str, pa.Table]:
    """The rows of ``table`` each expert trains on (by ``ugc.lang.route`` of the text, as served)."""
    routed = lang.route(keys, table["text"].to_pylist())
    return {k: table.filter(pa.array(routed == k)) for k in keys}


def fit_one(cfg: TrainConfig, train: pa.Table, val: pa.Table, soup_size: int = 1):
    """(model, tokenizer, summary, base-model notes): ``cfg.base_model`` fine-tuned on ``train``; with
    ``soup_size`` > 1 that many fine-tunes averaged (``training.soup``)."""
    path, notes = modeling.resolve_base_model(cfg.base_model)
    tok = modeling.load_tokenizer(path, lowercase=notes.get("lowercase", False))

    def build():  # the same init every call (seeded): soup ingredients differ only in their training
        return modeling.build_classifier(path, list(cfg.labels), cfg.init, cfg.tiny_config, cfg.seed)

    if soup_size > 1:
        from training import soup

        model, summary = soup.fit(cfg, soup_size, build, tok, train, val)
        return model, tok, summary, notes
    model = build()
    return model, tok, loop.fit(cfg, model, tok, train, val), notes


def fit(cfg: TrainConfig, train: pa.Table, val: pa.Table):
    """(model, tokenizer, summary, base-model notes): one classifier, or with ``cfg.experts`` a Routed model
    (tokenizer None) whose every expert is fitted on its rows."""
    if not cfg.experts:
        return fit_one(cfg, train, val, cfg.soup.get(lang.DEFAULT_EXPERT, 1))
    from training.evaluate import encode_labels
    from training.metrics import classification_report
    from ugc.inference import Routed, predict_probs

    bases = plan(cfg)
    trains, vals = split(train, list(bases)), split(val, list(bases))
    empty = [k for k in bases if trains[k].num_rows == 0 or vals[k].num_rows == 0]
    if empty:
        raise ConfigError(f"no training or validation rows route to expert(s) {empty} "
                          f"(rows per expert: { {k: (trains[k].num_rows, vals[k].num_rows) for k in bases} }); "
                          "drop them from `experts` or add data in that language")
    experts, summaries, notes = {}, {}, {}
    for key, base in bases.items():
        sub = cfg.replace(base_model=base, experts={}, soup={}, expert_max_train_samples={},
                          work_uri=storage.join(cfg.work, "experts", key))
        model, tok, summaries[key], notes[key] = fit_one(sub, trains[key], vals[key], cfg.soup.get(key, 1))
        experts[key] = (model, tok)
    routed = Routed(experts)
    total_rows = sum(s["train_rows"] for s in summaries.values())
    first = summaries[lang.DEFAULT_EXPERT]
    val_probs = predict_probs(routed, None, val["text"].to_pylist(), cfg.max_length, cfg.eval_batch_size)
    summary = {"steps": sum(s["steps"] for s in summaries.values()),
               "best_val_macro_f1": classification_report(encode_labels(val, list(cfg.labels)), val_probs,
                                                          list(cfg.labels))["macro_f1"],  # the routed whole
               "device": first["device"], "amp": first["amp"], "train_rows": total_rows,
               "train_samples_per_s": sum(s["samples_seen"] for s in summaries.values())
                                      / max(sum(s["train_seconds"] for s in summaries.values()), 1e-9),
               "early_stopped": any(s["early_stopped"] for s in summaries.values()), "experts": summaries}
    licences = "; ".join(f"{k}: {n.get('license', 'see checkpoint')}" for k, n in notes.items())
    base_notes = {"name": "+".join(f"{k}:{n['name']}" for k, n in notes.items()), "license": licences,
                  "experts": notes, "routing": "ugc.lang.route (script of the text)"}
    return routed, None, summary, base_notes
