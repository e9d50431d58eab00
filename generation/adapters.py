"""LoRA adapters that travel on their own: trained where a GPU is lent, merged and served where the project lives.

A lent GPU machine returns files of at most 16 MiB and cannot hold the project's lake or registry, so a fine-tune
made there comes back as its adapter (float16 safetensors shards, their sha256 in ``adapter.json``, how they were
trained in ``training.json``); ``merge`` checks every digest before a weight is read and folds the adapter into
the verified base model here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

from generation.modeling import add_lora
from ugc.assemble import DigestMismatch
from ugc.errors import ConfigError

log = logging.getLogger(__name__)
_FILE_BYTES = 14 << 20  # under the 16 MiB a lent GPU machine returns per file


def save(model, out: str, record: dict | None = None, tok=None) -> dict:
    """The LoRA weights as float16 safetensors shards under 14 MiB each, their config and sha256 digests, the
    tokenizer's end and pad tokens, and ``record`` (how they were trained) as training.json."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save as to_bytes

    os.makedirs(out, exist_ok=True)
    state = {k: v.detach().to("cpu").half().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    shards, cur, size = [], {}, 0
    for k in sorted(state):
        n = state[k].numel() * 2
        if cur and size + n > _FILE_BYTES:
            shards.append(cur)
            cur, size = {}, 0
        cur[k], size = state[k], size + n
    shards.append(cur)
    digests = {}
    for i, shard in enumerate(shards):
        name, data = f"adapter-{i:02d}.safetensors", to_bytes(shard)
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    conf = model.peft_config["default"]
    with open(os.path.join(out, "adapter.json"), "w") as f:
        json.dump({"r": conf.r, "alpha": conf.lora_alpha, "sha256": digests,
                   "tokenizer": _special(tok) if tok is not None else None}, f, indent=1)
    if record:
        with open(os.path.join(out, "training.json"), "w") as f:
            json.dump(record, f, indent=1, default=str)
    return digests


def _special(tok) -> dict:
    return {"eos_token": tok.eos_token, "pad_token": tok.pad_token}


def merge(model, src: str, tok=None):
    """``model`` with the adapter that ``save`` wrote merged in (every digest checked before a weight is read).

    The model learned to end a reply with the end token of the tokenizer it was trained with, and transformers
    versions read a GGUF's end token differently (5.17 gives ``<|endoftext|>``, 5.24 ``<|im_end|>``). ``tok`` is
    set to the adapter's end and pad tokens, or a reply would never stop and every R10@k score would carry the
    log-probability of an end token the model never saw."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load as from_bytes

    notes = lineage(src)
    meta = notes["adapter"]
    state = {}
    for name, digest in meta["sha256"].items():
        with open(os.path.join(src, name), "rb") as f:
            data = f.read()  # the bytes checked are the bytes loaded
        if hashlib.sha256(data).hexdigest() != digest:
            raise DigestMismatch(f"{src}/{name}: sha256 differs from adapter.json; the adapter is not used")
        state.update({k: v.float() for k, v in from_bytes(data).items()})
    model = add_lora(model, meta["r"], meta["alpha"], 0.0)
    result = set_peft_model_state_dict(model, state)
    unexpected = list(getattr(result, "unexpected_keys", []))
    absent = [k for k in getattr(result, "missing_keys", []) if "lora_" in k]  # would stay at init: a no-op
    if unexpected or absent:
        raise ConfigError(f"{src}: the adapter does not fit this base model (not in the model: {unexpected[:3]}, "
                          f"missing from the adapter: {absent[:3]})")
    special = meta.get("tokenizer") or (notes.get("training") or {}).get("tokenizer")
    if tok is not None and special:
        for name, value in special.items():
            if getattr(tok, name) != value:
                log.warning("%s: %s %r -> %r (the adapter was trained with it)", src, name, getattr(tok, name), value)
                setattr(tok, name, value)
        model.generation_config.eos_token_id, model.generation_config.pad_token_id = tok.eos_token_id, tok.pad_token_id
    return model.merge_and_unload().eval()


def lineage(src: str) -> dict:
    """What a saved adapter says of itself: its folder, ``adapter.json`` and ``training.json`` (when present)."""
    notes = {"path": os.path.abspath(src)}
    for name in ("adapter", "training"):
        path = os.path.join(src, f"{name}.json")
        if os.path.isfile(path):
            with open(path) as f:
                notes[name] = json.load(f)
    return notes
