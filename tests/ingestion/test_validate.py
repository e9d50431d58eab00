import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingestion import synth
from ingestion.config import IngestConfig, ValidateConfig
from ingestion.pipeline import ingest_day
from ingestion.validate import ValidationFailed, validate_partition
from tests.conftest import DAY
from ugc import lake, storage


@pytest.fixture(scope="module")
def partition(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("v"))
    synth.generate(f"{root}/landing", DAY, days=1, posts=800, seed=3)
    s = ingest_day(IngestConfig.from_dict({"lake_uri": f"{root}/lake", "day": DAY.isoformat()}),
                   f"{root}/landing/dt={DAY.isoformat()}")
    return f"{root}/lake", s["partition_uri"]


def test_clean_partition_passes_and_keeps_evidence(partition):
    _, uri = partition
    s = validate_partition(ValidateConfig(day=DAY), uri)
    assert s["success"] and s["evaluated"] >= 15 and not s["failed_critical"]
    saved = json.loads(storage.read_bytes(s["results_uri"]))
    assert saved["gx_result"]["success"] is True
    html = storage.read_bytes(s["data_docs_uri"]).decode()
    assert "ugc_posts_2026-11-20" in html


def test_critical_failure_raises_and_saves_results(tmp_path, partition):
    src_lake, _ = partition
    lake_uri = str(tmp_path / "lake")
    t = lake.read_partition(lake.partition_uri(src_lake, DAY))

    def dup_and_shift(t):  # a duplicated post and a post from another day
        t = pa.concat_tables([t, t.slice(0, 1)])
        ts = t["created_at"].to_pylist()
        ts[1] = ts[1].replace(year=2020)
        return t.set_column(t.schema.get_field_index("created_at"), "created_at",
                            pa.array(ts, pa.timestamp("us", "UTC")))

    lake.write_partition(lake_uri, DAY, dup_and_shift(t), {})
    with pytest.raises(ValidationFailed) as e:
        validate_partition(ValidateConfig(day=DAY, build_docs=False), lake.partition_uri(lake_uri, DAY))
    failed = {(f["expectation"], f["column"]) for f in e.value.summary["failed_critical"]}
    assert ("expect_compound_columns_to_be_unique", None) in failed
    assert ("expect_column_values_to_be_between", "created_at") in failed
    assert "critical expectation(s) failed" in str(e.value)
    assert storage.exists(e.value.summary["results_uri"])


def test_soft_expectation_only_warns(tmp_path, partition):
    src_lake, _ = partition
    lake_uri = str(tmp_path / "lake")
    t = lake.read_partition(lake.partition_uri(src_lake, DAY))
    plat = pc.if_else(pc.equal(t["platform"], "reddit"), "mastodon", t["platform"])
    lake.write_partition(lake_uri, DAY, t.set_column(1, "platform", plat), {})
    s = validate_partition(ValidateConfig(day=DAY, build_docs=False), lake.partition_uri(lake_uri, DAY))
    assert s["success"] and [w["column"] for w in s["warnings"]] == ["platform"]
    # The evidence of a failed expectation (GX result_format BASIC): count, share and the offending values.
    [w] = s["warnings"]
    n = int(pc.sum(pc.equal(plat, "mastodon")).as_py())
    assert w["observed"]["unexpected_count"] == n and w["observed"]["unexpected_percent"] == pytest.approx(
        100 * n / t.num_rows)
    assert set(w["observed"]["partial_unexpected_list"]) == {"mastodon"}
    assert len(w["observed"]["partial_unexpected_list"]) == min(n, 20)


def test_zero_width_characters_warn_and_no_batch_fingerprint_is_computed(tmp_path, partition):
    src_lake, _ = partition
    lake_uri = str(tmp_path / "lake")
    t = lake.read_partition(lake.partition_uri(src_lake, DAY))
    texts = t["text"].to_pylist()
    texts[3], texts[7] = texts[3] + "\u200b", "\ufeff" + texts[7]  # ZWSP and BOM (ingest strips both)
    lake.write_partition(lake_uri, DAY, t.set_column(t.schema.get_field_index("text"), "text", pa.array(texts)), {})
    s = validate_partition(ValidateConfig(day=DAY, build_docs=False), lake.partition_uri(lake_uri, DAY))
    assert s["success"]
    [w] = s["warnings"]
    assert (w["expectation"], w["column"], w["observed"]["unexpected_count"]) == (
        "expect_column_values_to_not_match_regex", "text", 2)
    # The data validated is named by the partition's snapshot id, not by GX hashing every cell.
    saved = json.loads(storage.read_bytes(s["results_uri"]))
    assert s["snapshot_id"] and "pandas_data_fingerprint" not in saved["gx_result"]["meta"]["batch_markers"]
