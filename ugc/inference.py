"""In-process inference with a registered sentiment classifier (torch on the CPU or a GPU).

Shared by training (validation, test metrics), the gate (re-scoring production) and monitoring (scoring
without Triton, drift embeddings). Torch is imported inside the functions: importing this module is free.
"""

from __future__ import annotations

import numpy as np

from ugc import registry


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
    ``bf16``: weights in bfloat16 (what the CPU serving variant runs)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    label_map = registry.read_label_map(model_dir)
    kw = {"dtype": torch.bfloat16} if bf16 else {}
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, **kw).eval()
    return model, AutoTokenizer.from_pretrained(model_dir), label_map["labels"], label_map["max_length"]


def predict_probs(model, tokenizer, texts: list[str], max_length: int, batch_size: int = 128,
                  device=None) -> np.ndarray:
    """Softmax probabilities, float32, one row per text. Sorts by length so batches pad little."""
    import torch

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
    """Mean-pooled last hidden states of the classifier's encoder: sentence embeddings in its own space."""
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            enc = tokenizer(texts[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                            return_tensors="pt")
            hidden = model.base_model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])[0]
            mask = enc["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, 1), np.float32)
