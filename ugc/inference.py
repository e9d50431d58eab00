"""In-process inference with a registered sentiment classifier (torch on the CPU or a GPU).

Shared by training (validation, test metrics), the gate (re-scoring production) and monitoring (scoring
without Triton, drift embeddings). Torch is imported inside the functions: importing this module is free.
"""

from __future__ import annotations

import numpy as np

from ugc import lang, registry


def cpu_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX): autocast then runs ~2.4x faster."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def load_classifier(model_dir: str, bf16: bool = False):
    """(model, tokenizer, labels, max_length) of a fetched classifier directory; eval mode, on the CPU;
    ``bf16``: weights in bfloat16 (what the CPU serving variant runs). A routed directory (``routes.json``)
    gives a ``Routed`` model and tokenizer None: predict_probs and embed route its texts."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    label_map = registry.read_label_map(model_dir)
    routes = registry.read_routes(model_dir)
    if routes is not None:
        experts = {k: load_classifier(lang.expert_dir(model_dir, k), bf16)[:2] for k in routes["experts"]}
        return Routed(experts), None, label_map["labels"], label_map["max_length"]
    kw = {"dtype": torch.bfloat16} if bf16 else {}
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, **kw).eval()
    return model, AutoTokenizer.from_pretrained(model_dir), label_map["labels"], label_map["max_length"]


class Routed:
    """Sentiment experts by language: a text whose ``ugc.lang`` is an expert's key goes to that expert, every
    other text to ``ugc.lang.DEFAULT_EXPERT``. Each expert is an ordinary classifier with its own tokenizer
    (an English vocabulary for English, a Chinese one for the rest). Quacks like the model half of
    ``load_classifier`` where callers need it (config, parameters, eval/train, to, cpu, save_pretrained)."""

    def __init__(self, experts: dict[str, tuple]):
        if lang.DEFAULT_EXPERT not in experts:
            raise ValueError(f"a routed model needs a {lang.DEFAULT_EXPERT!r} expert, got {sorted(experts)}")
        self.experts = experts  # key -> (model, tokenizer), in routes.json order (the embedding's block order)
        self.config = experts[lang.DEFAULT_EXPERT][0].config

    def route(self, texts: list[str]) -> np.ndarray:
        return lang.route(list(self.experts), texts)

    def parameters(self):
        return self.experts[lang.DEFAULT_EXPERT][0].parameters()

    @property
    def training(self) -> bool:
        return self.experts[lang.DEFAULT_EXPERT][0].training

    def train(self, mode: bool = True):
        for m, _ in self.experts.values():
            m.train(mode)
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        for m, _ in self.experts.values():
            m.to(device)
        return self

    def cpu(self):
        return self.to("cpu")

    def save_pretrained(self, out: str, labels: list[str] | None = None, max_length: int | None = None) -> None:
        """experts/<key>/ (weights, tokenizer and, given ``labels``, a label map each) + routes.json."""
        import json
        import os

        for key, (m, tok) in self.experts.items():
            d = lang.expert_dir(out, key)
            os.makedirs(d, exist_ok=True)
            m.save_pretrained(d)
            if tok is not None:
                tok.save_pretrained(d)
            if labels is not None:
                registry.write_label_map(d, labels, max_length)
        with open(os.path.join(out, lang.ROUTES), "w", encoding="utf-8") as f:
            json.dump({"experts": list(self.experts)}, f, indent=1)


def predict_probs(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 128,
                  device=None) -> np.ndarray:
    """Softmax probabilities, float32, one row per text. Sorts by length so batches pad little."""
    import torch

    if isinstance(model, Routed):
        return _routed(model, texts, lambda m, t, sub: predict_probs(m, t, sub, max_length, batch_size, device),
                       lambda m: m.config.num_labels)

    device = device or next(model.parameters()).device
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float32)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            enc = tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt").to(device)
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            out[idx] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    model.train(was_training)
    return out


def label_agreement(reference, candidate, texts: list[str]) -> float:
    """Share of ``texts`` on which two ``texts -> probabilities`` functions pick the same label."""
    if not texts:
        return 1.0
    return float(np.mean(np.asarray(reference(texts)).argmax(1) == np.asarray(candidate(texts)).argmax(1)))


def embed(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled last hidden states of the classifier's encoder: sentence embeddings in its own space. A routed
    model gives each expert's block side by side (in routes.json order), zeros in the blocks of the others."""
    import torch

    if isinstance(model, Routed):
        return _routed(model, texts, lambda m, t, sub: embed(m, t, sub, max_length, batch_size),
                       lambda m: m.config.hidden_size, blocks=True)

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
            hidden = model.base_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])[0]
            mask = enc["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)


def _routed(model: Routed, texts: list[str], fn, width, blocks: bool = False) -> np.ndarray:
    """``fn(expert model, its tokenizer, its texts)`` per expert, rows back in input order; ``blocks``: each
    expert writes its own columns (``width(expert)`` wide) instead of the same ones."""
    keys = model.route(texts)
    widths = [width(m) for m, _ in model.experts.values()]
    out = np.zeros((len(texts), sum(widths) if blocks else widths[0]), dtype=np.float32)
    col = 0
    for (key, (m, tok)), w in zip(model.experts.items(), widths, strict=True):
        idx = np.flatnonzero(keys == key)
        if len(idx):
            out[idx, col:col + w] = fn(m, tok, [texts[i] for i in idx])
        col += w if blocks else 0
    return out
