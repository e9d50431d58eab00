import pytest

from training import modeling
from ugc.errors import ConfigError

MIXED = ["Love This PHONE 😍", "虽然价格有点贵，但是质量很好", "iPhone这次真的翻车了 SO BAD"]


def test_catalog_models_resolve_to_package_directories():
    path, notes = modeling.resolve_base_model("m3e-small")
    assert path.endswith("embedding/m3e-small") and "non-commercial" in notes["license"]
    with pytest.raises(ConfigError, match="never downloaded"):
        modeling.resolve_base_model("bert-base-chinese")  # a hub name is not a local directory


def test_lowercasing_tokenizer_survives_save_and_reload(tmp_path):
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    path, _ = modeling.resolve_base_model("m3e-small")
    tok = modeling.load_tokenizer(path, lowercase=True)
    ids = tok(MIXED)["input_ids"]
    assert tok.unk_token_id not in ids[0][1:4]  # "Love This PHONE" is known once lower-cased (the emoji is not)
    tok.save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)(MIXED)["input_ids"] == ids
    assert [e.ids for e in Tokenizer.from_file(str(tmp_path / "tokenizer.json")).encode_batch(MIXED)] == ids
