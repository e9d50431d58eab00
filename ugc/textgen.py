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
    # CTRL's penalty on tokens already in the prompt or reply (Keskar et al. 2019 found 1.2 balanced). Without it
    # the Taobao fine-tune looped greedily in 6 of 10 served replies ("亲亲亲亲…"); with it, 0 of the same 10.
    repetition_penalty: float = 1.2


# A multi-turn input: the party to reply to is "user", the replier's own earlier turns are "assistant" (the
# customer-service persona). One turn is just "[user] text", so a single post and a dialogue share one format.
ROLES = ("[user]", "[assistant]")
MAX_TURNS = 6


def thread(turns) -> str:
    """The last ``MAX_TURNS`` turns of a conversation (oldest first) as one reply-task input."""
    turns = [" ".join(t.split()) for t in turns][-MAX_TURNS:]
    n = len(turns)
    return " ".join(f"{ROLES[(n - 1 - i) % 2]} {t}" for i, t in enumerate(turns))


def prompt(task: str, text: str) -> str:
    """The model's prompt. A reply input without role markers is one message from the user."""
    text = " ".join(text.split())
    if task == "reply" and not text.startswith(ROLES):
        text = thread([text])
    return TEMPLATE.format(task=task, input=text)


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


def _encode(model, tokenizer, prompts: list[str], max_prompt_tokens: int) -> dict:
    """Tokenised prompts on the model's device (left padding: new tokens must follow the last real token)."""
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    enc = tokenizer(prompts, return_tensors="pt", padding=True, truncation=True, max_length=max_prompt_tokens)
    return {k: v.to(model.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}


def _decoding(tokenizer, p: Params) -> dict:
    """generate() arguments for ``p``: greedy at temperature 0, else nucleus sampling (seeded by the caller)."""
    kw = {"max_new_tokens": p.max_new_tokens, "pad_token_id": tokenizer.pad_token_id,
          "eos_token_id": tokenizer.eos_token_id, "repetition_penalty": p.repetition_penalty}
    if p.temperature > 0:
        return {**kw, "do_sample": True, "temperature": p.temperature, "top_p": p.top_p, "top_k": 0}
    return {**kw, "do_sample": False}


def generate(model, tokenizer, prompts: list[str], p: Params, max_prompt_tokens: int = 256) -> list[str]:
    """Complete already-formatted ``prompts`` in one batch (left padding); returns only the new text.

    Sampling draws from a generator seeded with ``p.seed``, so the same request gives the same text.
    """
    import torch

    enc = _encode(model, tokenizer, prompts, max_prompt_tokens)
    if p.temperature > 0:
        torch.manual_seed(p.seed)
    with torch.inference_mode():
        out = model.generate(**enc, **_decoding(tokenizer, p))
    new = out[:, enc["input_ids"].shape[1]:]
    # max_new_tokens can stop inside a multi-byte character (byte-level BPE): drop the partial one.
    return [t.rstrip("\ufffd").strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]


def stream(model, tokenizer, prompt_text: str, p: Params, max_prompt_tokens: int = 256):
    """Yield the new text of one already-formatted prompt piece by piece as it is generated (greedy or seeded
    sampling, as ``generate``); generation runs in a thread and stops when the consumer stops iterating."""
    import threading

    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    stop = threading.Event()

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kw):
            return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

    enc = _encode(model, tokenizer, [prompt_text], max_prompt_tokens)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kw = {**_decoding(tokenizer, p), "streamer": streamer, "stopping_criteria": StoppingCriteriaList([_Stop()])}

    failed: list[BaseException] = []

    def run():
        try:
            if p.temperature > 0:
                torch.manual_seed(p.seed)
            with torch.inference_mode():
                model.generate(**enc, **kw)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, which re-raises it
            failed.append(e)
            streamer.end()  # else the consumer would wait for text forever

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    ended = False
    try:
        for piece in streamer:
            if piece:
                yield piece
        ended = True
    finally:
        if not ended:  # the consumer stopped early: stop generating, take what is queued up to the end mark
            stop.set()
            for _ in streamer:
                pass
        worker.join()
    if failed:
        raise failed[0]
