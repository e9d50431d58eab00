"""Weight soups: several fine-tunes of one base model, their weights averaged into one model of the same size.

Why: on the demo's ~2,000 English rows, fine-tunes of the English expert that differed only in batch order and
dropout scored 0.656-0.718 macro-F1 on the confident airline tweets, a domain none trained on (README
"Sentiment on real text"). Fine-tunes that start from one pretrained checkpoint, and here from one head init,
stay in one basin of the loss, so the mean of their weights is itself a good model (Wortsman et al. 2022,
"Model soups"; Rame et al. 2022 for shifted domains), and it costs what one model costs to serve. transformers
and torch have no soup helper, hence these few lines.

Each ingredient is an ordinary ``loop.fit`` run with its own seed and checkpoints: ingredient 0 is the plain run
(same seed, same work dir), ingredient i trains under ``{work}/soup/{i}`` with seed ``seed + 1000 i``, so a
killed run resumes ingredient by ingredient.
"""

from __future__ import annotations

from collections.abc import Callable

from training import loop
from training.config import TrainConfig
from ugc import storage

SEED_STRIDE = 1000  # ingredient seeds far apart: loop.fit seeds epoch e's order with seed * 1000 + e


def average(state_dicts: list[dict]) -> dict:
    """The element-wise mean of float tensors; other tensors (integer buffers such as position ids) must agree
    and are kept."""
    import torch

    first = state_dicts[0]
    if any(sd.keys() != first.keys() for sd in state_dicts):
        raise ValueError("soup ingredients have different parameters: not fine-tunes of one model")
    out = {}
    for k, v in first.items():
        if v.is_floating_point():
            out[k] = (torch.stack([sd[k].float() for sd in state_dicts]).mean(0)).to(v.dtype)
        elif all(torch.equal(sd[k], v) for sd in state_dicts):
            out[k] = v.clone()
        else:
            raise ValueError(f"soup ingredients disagree on the non-float tensor {k}")
    return out


def ingredient_config(cfg: TrainConfig, i: int) -> TrainConfig:
    """The config of ingredient ``i`` (0 is the plain run)."""
    if i == 0:
        return cfg
    return cfg.replace(seed=cfg.seed + SEED_STRIDE * i, work_uri=storage.join(cfg.work, "soup", str(i)))


def fit(cfg: TrainConfig, n: int, build: Callable[[], object], tokenizer, train, val):
    """(model, summary): ``n`` fine-tunes of ``build()`` (a fresh model with the same init each call), averaged.
    The summary is loop.fit's for the soup: its val macro-F1, every ingredient's summary, steps summed."""
    from training.evaluate import encode_labels
    from training.metrics import classification_report
    from ugc.inference import predict_probs

    weights, summaries = [], []
    for i in range(n):
        model = build()
        summaries.append(loop.fit(ingredient_config(cfg, i), model, tokenizer, train, val))
        weights.append({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(average(weights))
    labels = list(cfg.labels)
    probs = predict_probs(model, tokenizer, val["text"].to_pylist(), cfg.max_length, cfg.eval_batch_size)
    val_f1 = classification_report(encode_labels(val, labels), probs, labels)["macro_f1"]
    first = summaries[0]
    seconds, seen = (sum(s[k] for s in summaries) for k in ("train_seconds", "samples_seen"))
    return model, {**first, "steps": sum(s["steps"] for s in summaries), "best_val_macro_f1": val_f1,
                   "samples_seen": seen, "train_seconds": seconds,
                   "train_samples_per_s": seen / seconds if seconds else 0.0,
                   "early_stopped": any(s["early_stopped"] for s in summaries),
                   "soup": {"n": n, "val_macro_f1": [s["best_val_macro_f1"] for s in summaries],
                            "ingredients": summaries}}
