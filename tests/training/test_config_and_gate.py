import pytest

from training.config import GateConfig, TrainConfig
from training.gate import decide
from ugc.errors import ConfigError, GateFailed
from ugc.lifecycle import enforce


def test_from_dict_coerces_params_values():
    cfg = TrainConfig.from_dict({"lake_uri": "s3://l", "epochs": "2", "lr": "3e-5", "labels": "negative,positive",
                                 "days": ["2026-11-20"], "gate": {"margin": "0.01"}})
    assert (cfg.epochs, cfg.lr, cfg.labels, cfg.days, cfg.gate.margin) == (2, 3e-5, ("negative", "positive"),
                                                                           ("2026-11-20",), 0.01)
    assert cfg.registry == "s3://l/registry/sentiment" and cfg.work == "s3://l/registry/sentiment/runs/manual"


@pytest.mark.parametrize("bad,msg", [
    ({}, "lake_uri is required"),
    ({"lake_uri": "x", "epoch": 3}, "unknown training config keys"),
    ({"lake_uri": "x", "epochs": 0}, "epochs must be >= 1"),
    ({"lake_uri": "x", "epochs": "three"}, "epochs must be int"),
    ({"lake_uri": "x", "lr": 2}, "lr must be in"),
    ({"lake_uri": "x", "labels": ["pos"]}, "labels must be"),
    ({"lake_uri": "x", "amp": "fp8"}, "amp must be one of"),
    ({"lake_uri": "x", "split_key": "post_id"}, "split_key must be one of"),
    ({"lake_uri": "x", "days": ["20261120"]}, "days must be YYYY-MM-DD"),
    ({"lake_uri": "x", "gate": {"margn": 0.1}}, "unknown gate keys"),
    ({"lake_uri": "x", "test_fraction": 0.7}, "test_fraction"),
])
def test_bad_config_is_a_clear_error(bad, msg):
    with pytest.raises(ConfigError, match=msg):
        TrainConfig.from_dict(bad)


M = {"accuracy": 0.9, "macro_f1": 0.88, "ece": 0.05}


@pytest.mark.parametrize("challenger,champion,promote,failed", [
    (M, None, True, []),
    (M, {**M, "macro_f1": 0.87}, True, []),  # +0.01 >= margin 0.005
    (M, {**M, "macro_f1": 0.878}, False, ["beats_champion"]),  # +0.002 < margin
    ({**M, "ece": 0.3}, None, False, ["max_ece"]),
    ({"accuracy": 0.5, "macro_f1": 0.4, "ece": 0.05}, None, False, ["min_accuracy", "min_macro_f1"]),
])
def test_gate_decisions(challenger, champion, promote, failed):
    d = decide(GateConfig(margin=0.005), challenger, champion)
    assert d["promote"] is promote
    assert [k for k, c in d["checks"].items() if not c["passed"]] == failed
    if promote:
        assert enforce(d) is d
    else:
        with pytest.raises(GateFailed, match=failed[0]):
            enforce(d)
