"""Export a registered sentiment model to ONNX and prove parity with torch before anything is published."""

from __future__ import annotations

import os

import numpy as np

from ugc import registry

# Fixed parity texts: zh, en, mixed, emoji, PII placeholders, empty-ish and over-long input.
PARITY_TEXTS = [
    "这个手机真的太好用了😍", "快递太慢了，再也不买了", "虽然价格有点贵，但是质量很好", "请问这个耳机在哪里买？",
    "Love this phone, totally worth it!", "The delivery was late and the box was broken.",
    "iPhone这次真的翻车了 so bad", "联系我 [PHONE] 或 [EMAIL]", "?", "好" * 400,
]


class ParityError(RuntimeError):
    """ONNX and torch disagree beyond the tolerance: the export must not be published."""


def export_onnx(model_dir: str, out_path: str, opset: int = 17) -> str:
    """``model_dir`` (saved classifier) -> ``out_path`` with inputs input_ids/attention_mask and outputs logits
    and embedding (the mean-pooled last hidden state drift compares), dynamic batch and sequence axes."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from serving.triton_models.runners import mean_pool

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    dummy = torch.ones(2, 16, dtype=torch.long)

    class Wrapped(torch.nn.Module):  # positional inputs, two named outputs
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            out = self.m(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.logits, mean_pool(out.hidden_states[-1], attention_mask)

    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    torch.onnx.export(Wrapped(model), (dummy, dummy), out_path, dynamo=False, opset_version=opset,
                      input_names=["input_ids", "attention_mask"], output_names=["logits", "embedding"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                    "attention_mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"},
                                    "embedding": {0: "batch"}})
    return out_path


def tokenize_like_triton(tokenizer_json: str, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Exactly what the Triton models do (the same serving/triton_models/runners.py)."""
    from serving.triton_models import runners

    return runners.encode(runners.tokenizer(tokenizer_json, max_length), texts)


def parity_check(model_dir: str, onnx_path: str, texts: list[str] | None = None, atol: float = 1e-4) -> dict:
    """Torch (HF tokenizer, dynamic padding) vs onnxruntime (serving tokenizer, fixed padding): logits, and the
    embedding output against ugc.inference.embed (what drift computes without Triton).

    Raises ParityError with the worst difference when they disagree by more than ``atol`` or on a label.
    """
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from ugc.inference import embed

    texts = texts or PARITY_TEXTS
    max_length = registry.read_label_map(model_dir)["max_length"]
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    hf_tok = AutoTokenizer.from_pretrained(model_dir)
    enc = hf_tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.inference_mode():
        ref = model(**{k: enc[k] for k in ("input_ids", "attention_mask")}).logits.numpy()
    ref_emb = embed(model, hf_tok, texts, max_length)
    ids, mask = tokenize_like_triton(os.path.join(model_dir, "tokenizer.json"), texts, max_length)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got, got_emb = sess.run(["logits", "embedding"], {"input_ids": ids, "attention_mask": mask})
    diff = float(np.abs(got - ref).max())
    emb_diff = float(np.abs(got_emb - ref_emb).max())
    label_mismatch = int((got.argmax(1) != ref.argmax(1)).sum())
    result = {"texts": len(texts), "max_abs_diff": diff, "embedding_max_abs_diff": emb_diff, "atol": atol,
              "label_mismatches": label_mismatch}
    if diff > atol or emb_diff > atol or label_mismatch:
        raise ParityError(f"ONNX vs torch parity failed: {result}")
    return result
