"""Sentiment champion/challenger checks on the frozen held-out test set and on the reserved real-text sets
(decision record: ugc.lifecycle)."""

from __future__ import annotations

from training.config import GateConfig
from ugc.lifecycle import Check
from ugc.lifecycle import decide as _decide


def headline(metrics: dict) -> float:
    """A reserved set's judged macro-F1: on its confident subset when annotators gave confidence."""
    return metrics.get("confident", metrics)["macro_f1"]


def reserved_checks(gate: GateConfig, challenger: dict, champion: dict | None) -> list[Check]:
    """Floors on real text the model never trained on, and no regression there against production."""
    mine = challenger.get("reserved") or {}
    checks = [Check(f"reserved:{src}:macro_f1", headline(mine[src]) if src in mine else 0.0, floor, ">=")
              for src, floor in sorted(gate.min_reserved_macro_f1.items())]
    for src, m in sorted(mine.items()):
        if "polar_accuracy" in m:
            if gate.min_polar_accuracy > 0:
                checks.append(Check(f"reserved:{src}:polar_accuracy", m["polar_accuracy"], gate.min_polar_accuracy,
                                    ">="))
            if gate.max_polar_neutral_rate < 1:
                checks.append(Check(f"reserved:{src}:neutral_rate", m["neutral_rate"], gate.max_polar_neutral_rate,
                                    "<="))
        theirs = ((champion or {}).get("reserved") or {}).get(src)
        if theirs and theirs.get("sha") and theirs.get("sha") == m.get("sha"):  # the very same rows
            checks.append(Check(f"reserved:{src}:no_regression", headline(m), headline(theirs) - gate.max_reserved_drop,
                                ">="))
    return checks


def decide(gate: GateConfig, challenger: dict, champion: dict | None) -> dict:
    """Decision dict {promote, checks, reasons}; both metric dicts must come from the same test set."""
    checks = [Check("min_accuracy", challenger["accuracy"], gate.min_accuracy, ">="),
              Check("min_macro_f1", challenger["macro_f1"], gate.min_macro_f1, ">="),
              Check("max_ece", challenger["ece"], gate.max_ece, "<="),
              *reserved_checks(gate, challenger, champion)]
    if champion is not None:
        checks.append(Check("beats_champion", challenger["macro_f1"], champion["macro_f1"] + gate.margin, ">="))
    return _decide(checks, champion_macro_f1=champion["macro_f1"] if champion else None,
                   challenger_macro_f1=challenger["macro_f1"])
