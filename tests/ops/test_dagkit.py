import logging
from datetime import timedelta
from types import SimpleNamespace

from ops.dagkit import default_args, on_task_failure


def test_failure_callback_logs_one_summary_line(caplog):
    ti = SimpleNamespace(dag_id="ugc_ingest", task_id="ingest", run_id="manual__1", try_number=3, max_tries=2,
                         log_url="http://af/log")
    with caplog.at_level(logging.ERROR, logger="ugc.alerts"):
        on_task_failure({"ti": ti, "exception": ConnectionError("S3 endpoint error on s3://b/k")})
    (rec,) = caplog.records
    assert rec.getMessage() == ("UGC_TASK_FAILED dag=ugc_ingest task=ingest run=manual__1 try=3/3 "
                                "error=ConnectionError: S3 endpoint error on s3://b/k log=http://af/log")


def test_retry_delay_comes_from_the_environment(monkeypatch):
    assert default_args(2, timedelta(minutes=1))["retry_delay"] == timedelta(minutes=1)
    monkeypatch.setenv("UGC_RETRY_DELAY_S", "3")
    d = default_args(2, timedelta(minutes=1))
    assert d["retry_delay"] == timedelta(seconds=3) and d["retries"] == 2 and d["retry_exponential_backoff"]
