"""Prompt format and sampling shared by training, evaluation and the Triton ``generator`` model.

Depends on torch/transformers and the standard library only: it is copied next to the Triton model.
Every model trained here sees prompts in exactly this format, so the server must build them the same.
"""

from __future__ import annotations

from dataclasses import dataclass

# Ends with a newline so the response starts a fresh token in every tokenizer: training (which masks
# the prompt) and generation see exactly the same prefix.
TEMPLATE = "### Task: {task}\n### Input: {input}\n### Response:\n"
LIMITS = {"max_new_tokens": (1, 256), "temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}
MAX_PROMPT_CHARS = 2000


class ParamError(ValueError):
    """A generation parameter or prompt is invalid (not retryable); the message names it."""


@dataclass(frozen=True)
class Params:
    max_new_tokens: int = 48
    temperature: float = 0.7  # 0 = greedy
    top_p: float = 0.9
    seed: int = 0


def prompt(task: str, text: str) -> str:
    return TEMPLATE.format(task=task, input=" ".join(text.split()))


def validate(task: str, text: str, p: Params, tasks: tuple[str, ...] | list[str]) -> None:
    """Raise ParamError naming the first invalid field."""
    if task not in tasks:
        raise ParamError(f"task must be one of {list(tasks)}, got {task!r}")
    if not isinstance(text, str) or not text.strip():
        raise ParamError("prompt must be non-empty text")
    if len(text) > MAX_PROMPT_CHARS:
        raise ParamError(f"prompt is {len(text)} characters; the limit is {MAX_PROMPT_CHARS}")
    lo, hi = LIMITS["max_new_tokens"]
    if not lo <= p.max_new_tokens <= hi:
        raise ParamError(f"max_new_tokens must be in [{lo}, {hi}], got {p.max_new_tokens}")
    lo, hi = LIMITS["temperature"]
    if not lo <= p.temperature <= hi:
        raise ParamError(f"temperature must be in [{lo}, {hi}], got {p.temperature}")
    if not 0.0 < p.top_p <= 1.0:
        raise ParamError(f"top_p must be in (0, 1], got {p.top_p}")
    if p.seed < 0:
        raise ParamError(f"seed must be >= 0, got {p.seed}")


def generate(model, tokenizer, prompts: list[str], p: Params, max_prompt_tokens: int = 256) -> list[str]:
    """Complete already-formatted ``prompts`` in one batch (left padding); returns only the new text.

    Sampling draws from a generator seeded with ``p.seed``, so the same request gives the same text.
    """
    import torch

    tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the last real token
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    enc = tokenizer(prompts, return_tensors="pt", padding=True, truncation=True, max_length=max_prompt_tokens)
    enc = {k: v.to(model.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
    kw = {"max_new_tokens": p.max_new_tokens, "pad_token_id": tokenizer.pad_token_id,
          "eos_token_id": tokenizer.eos_token_id}
    if p.temperature > 0:
        kw.update(do_sample=True, temperature=p.temperature, top_p=p.top_p, top_k=0)
        torch.manual_seed(p.seed)
    else:
        kw.update(do_sample=False)
    with torch.inference_mode():
        out = model.generate(**enc, **kw)
    new = out[:, enc["input_ids"].shape[1]:]
    # max_new_tokens can stop inside a multi-byte character (byte-level BPE): drop the partial one.
    return [t.rstrip("\ufffd").strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
