"""Weight soups: the served model is the mean of its ingredients' weights, each ingredient an ordinary
fine-tune with its own seed and checkpoints (so a rerun resumes instead of retraining)."""

import pytest
import torch

from tests.helpers import TINY
from training import data, experts, loop, modeling, soup
from training.config import TrainConfig
from ugc import lang
from ugc.errors import ConfigError
from ugc.splits import read_split


@pytest.fixture(scope="module")
def splits(small_lake, tmp_path_factory):
    reg = str(tmp_path_factory.mktemp("reg"))
    m = data.prepare(TrainConfig.from_dict({"lake_uri": small_lake, "registry_uri": reg}))
    return tuple(read_split(m[f"{s}_uri"]) for s in ("train", "val"))


def _cfg(work, **kw):
    return TrainConfig.from_dict({**TINY, "lake_uri": "unused", "work_uri": work, "max_steps": 6, **kw})


def _plain_fit(cfg, splits, init_seed=None):
    path, notes = modeling.resolve_base_model(cfg.base_model)
    tok = modeling.load_tokenizer(path, lowercase=notes["lowercase"])
    model = modeling.build_classifier(path, list(cfg.labels), cfg.init, cfg.tiny_config,
                                      cfg.seed if init_seed is None else init_seed)
    loop.fit(cfg, model, tok, *splits)
    return model.state_dict()


def test_average_is_the_elementwise_mean_and_refuses_other_models():
    a = {"w": torch.tensor([1.0, 2.0]), "pos": torch.tensor([0, 1])}
    b = {"w": torch.tensor([3.0, 6.0]), "pos": torch.tensor([0, 1])}
    out = soup.average([a, b])
    assert torch.equal(out["w"], torch.tensor([2.0, 4.0])) and torch.equal(out["pos"], a["pos"])
    with pytest.raises(ValueError, match="different parameters"):
        soup.average([a, {"w": b["w"]}])
    with pytest.raises(ValueError, match="non-float tensor pos"):
        soup.average([a, {**b, "pos": torch.tensor([1, 0])}])


def test_soup_is_the_mean_of_its_ingredients_and_a_rerun_resumes(splits, tmp_path):
    cfg = _cfg(str(tmp_path / "soup"), soup={lang.DEFAULT_EXPERT: 3})
    model, tok, summary, _ = experts.fit(cfg, *splits)
    # Each ingredient trained alone in its own work dir, as the soup's config for it says, from the same init.
    alone = [_plain_fit(soup.ingredient_config(cfg, i).replace(work_uri=str(tmp_path / f"alone{i}")), splits,
                        init_seed=cfg.seed) for i in range(3)]
    assert not torch.equal(alone[0]["classifier.weight"], alone[1]["classifier.weight"])  # they did differ
    expected = soup.average(alone)
    got = model.state_dict()
    assert all(torch.allclose(got[k], expected[k], atol=1e-6) for k in expected)
    steps = summary["soup"]["ingredients"][0]["steps"]
    assert summary["soup"]["n"] == 3 and summary["steps"] == 3 * steps > 0
    assert summary["samples_seen"] > 0 and summary["train_samples_per_s"] > 0
    assert 0 <= summary["best_val_macro_f1"] <= 1 and len(summary["soup"]["val_macro_f1"]) == 3

    # A retried task finds every ingredient's last checkpoint in its own place: nothing is trained again.
    again, _, s2, _ = experts.fit(cfg, *splits)
    assert [s["resumed_from_step"] for s in s2["soup"]["ingredients"]] == [steps] * 3
    assert all(torch.equal(again.state_dict()[k], got[k]) for k in got)


def test_soup_of_one_is_the_plain_model(splits, tmp_path):
    plain = _plain_fit(_cfg(str(tmp_path / "plain")), splits)
    model, _, summary, _ = experts.fit(_cfg(str(tmp_path / "one"), soup={lang.DEFAULT_EXPERT: 1}), *splits)
    assert "soup" not in summary and all(torch.equal(model.state_dict()[k], plain[k]) for k in plain)


@pytest.mark.parametrize("bad", [{"en": 2}, {lang.DEFAULT_EXPERT: 0}, {"xx": 2}])
def test_soup_names_a_trained_expert_and_a_positive_count(bad):
    with pytest.raises(ConfigError, match="soup"):
        _cfg("unused", soup=bad)


def test_a_soup_for_one_expert_trains_that_expert_twice_and_the_others_once(splits, tmp_path, monkeypatch):
    works = []
    real_fit = loop.fit

    def recording_fit(cfg_, model, tok, train, val):
        works.append(cfg_.work.removeprefix(str(tmp_path / "w")))
        return real_fit(cfg_, model, tok, train, val)

    monkeypatch.setattr(loop, "fit", recording_fit)
    cfg = _cfg(str(tmp_path / "w"), experts={"en": "all-minilm-l6-v2"}, soup={"en": 2})
    _, _, summary, _ = experts.fit(cfg, *splits)
    assert works == ["/experts/default", "/experts/en", "/experts/en/soup/1"]
    assert summary["experts"]["en"]["soup"]["n"] == 2 and "soup" not in summary["experts"][lang.DEFAULT_EXPERT]
