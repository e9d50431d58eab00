import json
from pathlib import Path

import pytest

from ops import catalog
from ugc import registry, storage

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_plugin_page_lists_last_weeks_alerts_and_the_topics_and_runs_no_injected_script(tmp_path, monkeypatch):
    import sys

    from fastapi.testclient import TestClient

    from monitoring.alerts import deliver
    from monitoring.config import ReportConfig
    from tests.browser.chromium import PAYLOADS, ran_injected_script

    lake = str(tmp_path / "lake")
    monkeypatch.setenv("UGC_LAKE_URI", lake)
    topics = [{"id": f"t{i}", "label": p, "state": "rising", "posts": 40, "negative_share": 0.8, "hot": True}
              for i, p in enumerate(PAYLOADS)]
    storage.write_bytes(f"{lake}/reports/dt=2026-11-22/sentiment.json", json.dumps(
        {"summary": "s", "posts": 9, "topics": topics}).encode())
    for day in ("2026-11-10", "2026-11-16", "2026-11-22"):  # the first is older than a week
        cfg = ReportConfig.from_dict({"lake_uri": lake, "day": day})
        evs = [{"id": f"negative_topic:{day}:t{i}", "day": day, "title": p, "link": "r.html", "numbers": {}}
               for i, p in enumerate(PAYLOADS[:3])]
        deliver(cfg, evs, {"email": lambda e: None, "webhook": lambda e: None})
    listed = catalog.recent_alerts(lake, 7)
    assert [a["day"] for a in listed] == ["2026-11-22"] * 3 + ["2026-11-16"] * 3
    assert all(sorted(a["channels"]) == ["email", "webhook"] for a in listed)
    assert [t["label"] for t in catalog.latest_reports(lake)["topics"]] == PAYLOADS

    monkeypatch.syspath_prepend(str(ROOT / "plugins"))
    sys.modules.pop("ugc_platform", None)
    import ugc_platform
    from airflow.api_fastapi.core_api.security import get_user

    ugc_platform.app.dependency_overrides[get_user] = lambda: None
    try:
        client = TestClient(ugc_platform.app)
        assert [a["id"] for a in client.get("/api/alerts").json()] == [a["id"] for a in listed]
        page = client.get("/").text
    finally:
        ugc_platform.app.dependency_overrides.clear()
    assert "Alerts (last 7 days)" in page and "2026-11-10" not in page and page.count("email, webhook") == 6
    f = tmp_path / "page.html"
    f.write_text(page, encoding="utf-8")
    assert not ran_injected_script(str(f))
