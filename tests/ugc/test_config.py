"""The config layer: one override syntax, recipes that validate, readable errors, Param schemas from the models."""

import pathlib

import pytest

from generation.config import GenConfig
from ingestion.config import IngestConfig
from monitoring.config import ReportConfig
from training.config import TrainConfig
from ugc.config import RECIPES_DIR, merged, param_schema, parse_overrides, recipe
from ugc.errors import ConfigError

MODEL_OF_RECIPE = {"sentiment": TrainConfig, "generator": GenConfig, "reports": ReportConfig}


def test_overrides_parse_json_values_and_nested_keys():
    assert parse_overrides(["lr=3e-5", "labels=negative,positive", "gate.margin=0.01", "days=[\"2026-11-20\"]",
                            "base_model=/models/x"]) == {
        "lr": 3e-5, "labels": "negative,positive", "gate": {"margin": 0.01}, "days": ["2026-11-20"],
        "base_model": "/models/x"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["epochs"])


def test_later_layers_win_and_nested_dicts_merge():
    assert merged({"a": 1, "gate": {"margin": 0.1, "max_ece": 0.2}}, None, {"gate": {"margin": 0.3}, "b": None},
                  {"a": 2}) == {"a": 2, "gate": {"margin": 0.3, "max_ece": 0.2}}
    # An empty dict is a value, not "no change": `--set experts={}` turns a recipe's experts off.
    assert merged(recipe("sentiment-real"), parse_overrides(["experts={}"]))["experts"] == {}
    assert merged(recipe("sentiment-real"), parse_overrides(['experts={"zh": "x"}']))["experts"] == \
        {"en": "all-minilm-l6-v2", "zh": "x"}


@pytest.mark.parametrize("path", sorted(pathlib.Path(RECIPES_DIR).glob("*.toml")), ids=lambda p: p.stem)
def test_every_recipe_is_a_valid_config(path):
    model = MODEL_OF_RECIPE[path.stem.split("-")[0]]
    cfg = model.from_dict({"lake_uri": "s3://lake", "day": "2026-11-20", **recipe(path.stem)} if model is ReportConfig
                          else {"lake_uri": "s3://lake", **recipe(path.stem)})
    assert cfg.to_dict()["lake_uri"] == "s3://lake"


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(ConfigError, match="sentiment-demo"):
        recipe("nope")


def test_a_config_round_trips_through_its_dict_and_keeps_secrets_out():
    cfg = IngestConfig.from_dict({"lake_uri": "x", "day": "2026-11-20", "author_salt": "s3cret"})
    assert "author_salt" not in cfg.to_dict() and "s3cret" not in repr(cfg)
    assert cfg.replace(workers=4).author_salt == "s3cret"
    assert TrainConfig.from_dict(TrainConfig.from_dict({"lake_uri": "x", "epochs": 2}).to_dict()).epochs == 2


def test_param_schemas_carry_types_bounds_enums_and_reasons():
    assert param_schema(TrainConfig, "epochs") == {"default": 3, "minimum": 1, "type": "integer",
                                                   "description": TrainConfig.model_fields["epochs"].description}
    assert param_schema(TrainConfig, "amp")["enum"] == ["auto", "bf16", "fp16", "off"]
    assert param_schema(TrainConfig, "days")["type"] == "array"
    with pytest.raises(ValueError, match="nested"):
        param_schema(TrainConfig, "gate")
