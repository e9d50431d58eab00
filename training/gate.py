"""Sentiment champion/challenger checks on the frozen held-out test set (decision record: ugc.lifecycle)."""

from __future__ import annotations

from training.config import GateConfig
from ugc.lifecycle import Check
from ugc.lifecycle import decide as _decide


def decide(gate: GateConfig, challenger: dict, champion: dict | None) -> dict:
    """Decision dict {promote, checks, reasons}; both metric dicts must come from the same test set."""
    checks = [Check("min_accuracy", challenger["accuracy"], gate.min_accuracy, ">="),
              Check("min_macro_f1", challenger["macro_f1"], gate.min_macro_f1, ">="),
              Check("max_ece", challenger["ece"], gate.max_ece, "<=")]
    if champion is not None:
        checks.append(Check("beats_champion", challenger["macro_f1"], champion["macro_f1"] + gate.margin, ">="))
    return _decide(checks, champion_macro_f1=champion["macro_f1"] if champion else None,
                   challenger_macro_f1=challenger["macro_f1"])
