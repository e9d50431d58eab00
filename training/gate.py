"""Champion/challenger gate on the frozen held-out test set."""

from __future__ import annotations

from training.config import GateConfig
from ugc.errors import GateFailed


def decide(gate: GateConfig, challenger: dict, champion: dict | None) -> dict:
    """Decision dict {promote, checks, reasons}; both metric dicts must come from the same test set."""
    checks = {
        "min_accuracy": (challenger["accuracy"] >= gate.min_accuracy, challenger["accuracy"], gate.min_accuracy),
        "min_macro_f1": (challenger["macro_f1"] >= gate.min_macro_f1, challenger["macro_f1"], gate.min_macro_f1),
        "max_ece": (challenger["ece"] <= gate.max_ece, challenger["ece"], gate.max_ece),
    }
    if champion is not None:
        need = champion["macro_f1"] + gate.margin
        checks["beats_champion"] = (challenger["macro_f1"] >= need, challenger["macro_f1"], need)
    reasons = [f"{name}: {value:.4f} vs required {limit:.4f}" for name, (ok, value, limit) in checks.items() if not ok]
    return {"promote": not reasons, "reasons": reasons,
            "checks": {k: {"passed": ok, "value": v, "limit": lim} for k, (ok, v, lim) in checks.items()},
            "champion_macro_f1": champion["macro_f1"] if champion else None,
            "challenger_macro_f1": challenger["macro_f1"]}


def enforce(decision: dict) -> dict:
    """Raise GateFailed (with every failed check) unless the decision is to promote."""
    if not decision["promote"]:
        raise GateFailed("challenger rejected: " + "; ".join(decision["reasons"]))
    return decision
