"""What the platform page shows: model registries (versions, metrics, production) and the latest reports.

Plain functions over the lake so the Airflow plugin (plugins/ugc_platform.py), the CLI and tests share them.
"""

from __future__ import annotations

import json

from ugc import registry, storage
from ugc.registry import registry_uri

_HEADLINE = {"sentiment": ("accuracy", "macro_f1", "ece"), "generator": ("perplexity", "base_perplexity", "distinct_2",
                                                                        "repetition", "safety_hit_rate")}


def registry_summary(lake: str, model: str) -> dict:
    """Versions (newest first) with headline test metrics, which one is production, and the history."""
    reg = registry_uri(lake, model)
    index = registry.read_index(reg)
    rows = []
    for v in reversed(registry.versions(reg)):
        c = registry.card(reg, v)
        rows.append({"version": v, "registered_at": c.get("registered_at"), "base_model": c.get("base_model"),
                     "data_snapshot_id": c.get("data_snapshot_id"), "production": v == index["production"],
                     "test": {k: c.get("test", {}).get(k) for k in _HEADLINE[model]}})
    return {"model": model, "registry_uri": reg, "production": index["production"], "versions": rows,
            "history": index["history"][-20:]}


def latest_reports(lake: str) -> dict | None:
    """The newest day with reports: sentiment headline, drift status and failing metrics, file URIs."""
    root = storage.join(lake, "reports")
    days = sorted(d for d in storage.list_dirs(root) if d.startswith("dt="))
    for d in reversed(days):
        base = storage.join(root, d)
        out: dict = {"day": d[3:], "uri": base}
        for name in ("sentiment", "drift"):
            try:
                out[name] = json.loads(storage.read_bytes(storage.join(base, f"{name}.json")))
            except FileNotFoundError:
                out[name] = None
        if out["sentiment"] or out["drift"]:
            s, dr = out.pop("sentiment"), out.pop("drift")
            out["sentiment"] = s and {"summary": s.get("summary"), "posts": s.get("posts")}
            out["drift"] = dr and {"status": dr.get("status"), "summary": dr.get("summary"),
                                   "failing": sorted(k for k, m in dr.get("metrics", {}).items()
                                                     if m.get("status") == "fail")}
            out["topics"] = [{k: t.get(k) for k in ("id", "label", "state", "posts", "negative_share", "hot")}
                             for t in (s or {}).get("topics", [])]
            return out
    return None


def recent_alerts(lake: str, days: int = 7, latest_day: str | None = None) -> list[dict]:
    """Alerts sent in the ``days`` days up to ``latest_day`` (default: the newest report day), newest first."""
    from datetime import date

    from monitoring.alerts import recent

    latest_day = latest_day or (latest_reports(lake) or {}).get("day")
    if not latest_day:
        return []
    return recent(storage.join(lake, "reports"), date.fromisoformat(latest_day), days)
