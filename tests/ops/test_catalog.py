import json

import pytest

from ops import catalog
from ugc import registry, storage


def _version(reg, tmp_path, name, test):
    d = tmp_path / name
    d.mkdir()
    (d / "weights.bin").write_bytes(b"w")
    registry.register(reg, str(d), name, {"base_model": "m", "data_snapshot_id": "s1", "test": test})


def test_registry_summary_marks_production_and_keeps_headline_metrics(tmp_path):
    lake = str(tmp_path / "lake")
    reg = registry.registry_uri(lake, "sentiment")
    _version(reg, tmp_path, "v1", {"accuracy": 0.8, "macro_f1": 0.7, "ece": 0.05, "n": 10})
    _version(reg, tmp_path, "v2", {"accuracy": 0.9, "macro_f1": 0.8, "ece": 0.04, "n": 10})
    registry.promote(reg, "v1", None)
    s = catalog.registry_summary(lake, "sentiment")
    assert s["production"] == "v1" and [v["version"] for v in s["versions"]] == ["v2", "v1"]
    assert [v["production"] for v in s["versions"]] == [False, True]
    assert s["versions"][0]["test"] == {"accuracy": 0.9, "macro_f1": 0.8, "ece": 0.04}  # headline only
    assert s["history"][0]["action"] == "promote"
    with pytest.raises(KeyError, match="unknown model"):
        catalog.registry_summary(lake, "nope")


def test_latest_reports_is_the_newest_day_with_a_report(tmp_path):
    lake = str(tmp_path / "lake")
    assert catalog.latest_reports(lake) is None
    storage.write_bytes(f"{lake}/reports/dt=2026-11-20/sentiment.json", json.dumps({"summary": "old", "posts": 1}).encode())
    storage.write_bytes(f"{lake}/reports/dt=2026-11-21/drift.json", json.dumps(
        {"status": "fail", "summary": "drift", "metrics": {"lang_psi": {"status": "fail"}, "ks": {"status": "pass"}}}).encode())
    storage.write_bytes(f"{lake}/reports/dt=2026-11-22/scores.json", b"{}")  # scored, no report yet
    r = catalog.latest_reports(lake)
    assert r["day"] == "2026-11-21" and r["sentiment"] is None
    assert r["drift"] == {"status": "fail", "summary": "drift", "failing": ["lang_psi"]}
