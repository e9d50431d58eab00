"""Values from the data never reach Data Docs HTML as markup: injected script must not run in a real browser."""

import json
import pathlib
from datetime import date

from ingestion.config import IngestConfig, ValidateConfig
from ingestion.pipeline import ingest_day
from ingestion.validate import validate_partition
from tests.browser.chromium import PAYLOADS, dom, ran_injected_script
from ugc import storage


def test_data_docs_show_injected_values_as_text_and_run_none(tmp_path):
    rows = [{"post_id": f"p{i}", "platform": p, "author_id": f"u{i}", "text": f"post {i}: {p}",
             "created_at": "2026-11-20T01:00:00Z"} for i, p in enumerate(PAYLOADS)]
    rows += [{"post_id": "ok", "platform": "weibo", "author_id": "u", "text": "fine", "created_at": "2026-11-20T02:00:00Z"}]
    storage.write_bytes(f"{tmp_path}/landing/dt=2026-11-20/a.jsonl", "\n".join(map(json.dumps, rows)).encode())
    s = ingest_day(IngestConfig.from_dict({"lake_uri": f"{tmp_path}/lake", "day": "2026-11-20"}),
                   f"{tmp_path}/landing/dt=2026-11-20")
    assert s["rows"] == len(rows)
    v = validate_partition(ValidateConfig(day=date(2026, 11, 20)), s["partition_uri"])
    assert any(w["column"] == "platform" for w in v["warnings"])  # the payloads are unexpected platforms
    pages = sorted(pathlib.Path(v["data_docs_uri"]).parent.rglob("*.html"))
    assert len(pages) >= 3
    for page in pages:
        assert not ran_injected_script(str(page)), page
    shown = dom(str(next(p for p in pages if "validations" in str(p))))
    assert "&lt;script&gt;document.title=1337&lt;/script&gt;" in shown  # visible as text, not swallowed
