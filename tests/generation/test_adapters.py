"""Adapters trained on a lent GPU come back as float16 shards with digests (generation.adapters): merged here they
give the model that was trained, and a damaged or foreign adapter is refused before anything is served."""

import os

import pytest

from generation import adapters, modeling
from ugc.assemble import DigestMismatch
from ugc.errors import ConfigError

CORPUS = ["[user] 发什么快递 默认韵达哦", "[user] 能便宜点吗 已经是最低价了"] * 10


def _trained(seed: int = 0):
    import torch

    model, tok, _ = modeling.load("tiny-random", CORPUS, {"n_embd": 32}, seed=3)
    model = modeling.add_lora(model, 4, 8, 0.0)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # as if trained: LoRA B starts at zero, which would make any merge look right
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return model, tok


def test_a_saved_adapter_merges_into_a_fresh_base_as_the_trained_model(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(adapters, "_FILE_BYTES", 2048)  # several shards, as a 0.5B model's adapter needs
    model, tok = _trained()
    digests = adapters.save(model, str(tmp_path / "a"), {"training": {"steps": 3}})
    assert len(digests) > 1 and all(os.path.getsize(tmp_path / "a" / n) < 2048 + 1024 for n in digests)
    assert (tmp_path / "a" / "training.json").exists()
    ids = torch.tensor([tok("[user] 发什么快递")["input_ids"]])
    with torch.no_grad():
        want = model.merge_and_unload().eval()(ids).logits
        base, _, _ = modeling.load("tiny-random", CORPUS, {"n_embd": 32}, seed=3)
        got = adapters.merge(base, str(tmp_path / "a"))(ids).logits
        plain = modeling.load("tiny-random", CORPUS, {"n_embd": 32}, seed=3)[0].eval()(ids).logits
    assert torch.allclose(got, want, atol=2e-3)  # float16 shards
    assert not torch.allclose(plain, want, atol=2e-3)  # the adapter changed the model


def test_a_damaged_or_foreign_adapter_is_refused(tmp_path):
    model, _ = _trained()
    out = tmp_path / "a"
    name = next(iter(adapters.save(model, str(out))))
    data = bytearray((out / name).read_bytes())
    data[-1] ^= 1
    (out / name).write_bytes(bytes(data))
    base, _, _ = modeling.load("tiny-random", CORPUS, {"n_embd": 32}, seed=3)
    with pytest.raises(DigestMismatch, match="sha256"):
        adapters.merge(base, str(out))
    adapters.save(model, str(tmp_path / "b"))
    wider, _, _ = modeling.load("tiny-random", CORPUS, {"n_embd": 32, "n_layer": 3}, seed=3)
    with pytest.raises(ConfigError, match="does not fit"):
        adapters.merge(wider, str(tmp_path / "b"))


def test_a_local_checkpoint_reports_the_lineage_it_was_merged_with(tmp_path):
    model, tok = _trained()
    model = model.merge_and_unload()
    model.save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    assert modeling.resolve_base_model(str(tmp_path)) == (str(tmp_path), {"name": str(tmp_path)})
    (tmp_path / modeling.BASE_NOTES).write_text('{"license": "apache-2.0", "assembled": {"sha256": "1d96"}}')
    path, notes = modeling.resolve_base_model(str(tmp_path))
    assert notes == {"license": "apache-2.0", "assembled": {"sha256": "1d96"}, "name": str(tmp_path)}


def test_the_merge_restores_the_end_token_the_adapter_was_trained_with(tmp_path):
    model, tok = _trained()
    adapters.save(model, str(tmp_path), tok=tok)
    base, other, _ = modeling.load("tiny-random", CORPUS, {"n_embd": 32}, seed=3)
    other.add_special_tokens({"eos_token": "<|im_end|>"})  # another transformers release read another end token
    merged = adapters.merge(base, str(tmp_path), other)
    assert other.eos_token == tok.eos_token and other.eos_token_id == tok.eos_token_id
    assert merged.generation_config.eos_token_id == tok.eos_token_id
