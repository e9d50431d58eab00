import json
from datetime import timedelta

import pyarrow.compute as pc
import pytest

from ingestion import synth
from ingestion.config import IngestConfig
from ingestion.pipeline import ingest_day
from tests.conftest import DAY
from ugc import lake, storage
from ugc.errors import ConfigError


def _run(lake_uri, landing, day=DAY):
    cfg = IngestConfig.from_dict({"lake_uri": lake_uri, "day": day.isoformat(), "author_salt": "s"})
    return ingest_day(cfg, storage.join(landing, f"dt={day.isoformat()}"))


@pytest.fixture
def two_days(root):
    landing, lake_uri = storage.join(root, "landing"), storage.join(root, "lake")
    infos = synth.generate(landing, DAY, days=2, posts=1500, seed=7)
    return landing, lake_uri, infos


def test_every_planted_bad_row_is_quarantined_with_its_reason(two_days):
    landing, lake_uri, infos = two_days
    for i, info in enumerate(infos):
        s = _run(lake_uri, landing, DAY + timedelta(days=i))
        assert s["quarantined"] == info["planted"]
        assert s["rows"] == info["records"]  # every clean, unique post survives
        assert s["input_rows"] == s["rows"] + s["quarantined_total"]  # nothing lost
    assert infos[1]["planted"]["duplicate_text"] > infos[0]["planted"]["duplicate_text"]  # cross-day


def test_partition_content(two_days):
    landing, lake_uri, _ = two_days
    _run(lake_uri, landing)
    t = lake.read_partition(lake.partition_uri(lake_uri, DAY))
    assert t.schema.names[:5] == ["post_id", "platform", "author_id", "text", "lang"]
    texts = t["text"].to_pylist()
    assert not any("@example.com" in x or "https://" in x or "\u200b" in x for x in texts)
    assert pc.sum(t["pii_count"]).as_py() > 0
    assert set(t["lang"].to_pylist()) <= {"zh", "en", "other"} and {"zh", "en"} <= set(t["lang"].to_pylist())
    assert not any(a.startswith("u") for a in t["author_id"].to_pylist())  # hashed
    keys = list(zip(t["platform"].to_pylist(), t["post_id"].to_pylist(), strict=True))
    assert len(keys) == len(set(keys))


def test_rerun_same_day_is_idempotent(two_days):
    landing, lake_uri, _ = two_days
    a = _run(lake_uri, landing)
    qa = storage.read_bytes(a["quarantine_uri"])
    b = _run(lake_uri, landing)
    assert a["snapshot_id"] == b["snapshot_id"] and a["rows"] == b["rows"]
    assert storage.read_bytes(b["quarantine_uri"]) == qa
    files = [f for f in storage.list_files(a["partition_uri"]) if "/part-" in f]
    assert len(files) == 1  # no duplicate data files left behind


def test_quarantine_keeps_original_lines(two_days):
    landing, lake_uri, _ = two_days
    s = _run(lake_uri, landing)
    recs = [json.loads(x) for x in storage.read_bytes(s["quarantine_uri"]).decode().splitlines()]
    assert len(recs) == s["quarantined_total"]
    for r in recs:
        assert r["raw"] and r["source_file"].startswith(landing) and r["reason"]
    assert any("raw_b64" in r for r in recs if r["reason"] == "invalid_utf8")


def test_out_of_day_rows_are_quarantined(tmp_path):
    landing = str(tmp_path / "landing")
    rows = [{"id": "1", "platform": "twitter", "user_id": "u", "text": "inside the day ok",
             "created_at": "2026-11-20T10:00:00Z"},
            {"id": "2", "platform": "twitter", "user_id": "u", "text": "a late arrival from yesterday",
             "created_at": "2026-11-19T23:59:59Z"}]
    storage.write_bytes(f"{landing}/dt=2026-11-20/a.jsonl", "\n".join(json.dumps(r) for r in rows).encode())
    s = _run(str(tmp_path / "lake"), landing)
    assert s["rows"] == 1 and s["quarantined"] == {"created_at_outside_partition_day": 1}


def test_missing_landing_drop_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="no landing files"):
        _run(str(tmp_path / "lake"), str(tmp_path / "nowhere"))


@pytest.mark.parametrize("conf,msg", [
    ({"day": "2026-11-20"}, "lake_uri is required"),
    ({"lake_uri": "x", "day": "20/11/2026"}, "YYYY-MM-DD"),
    ({"lake_uri": "x", "day": "2026-11-20", "max_text_bytes": "big"}, "must be an integer"),
    ({"lake_uri": "x", "day": "2026-11-20", "max_text_bytes": 0}, "out of range"),
    ({"lake_uri": "x", "day": "2026-11-20", "bogus": 1}, "unknown ingest config keys"),
])
def test_config_errors(conf, msg):
    with pytest.raises(ConfigError, match=msg):
        IngestConfig.from_dict(conf)
