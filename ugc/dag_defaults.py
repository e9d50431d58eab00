"""Operational defaults shared by every ugc DAG (plain Python: DAG files import it, it imports no airflow).

- Retries with exponential backoff are for transient errors (S3 or Triton unreachable, a lost worker);
  tasks raise AirflowFailException for everything retrying cannot fix, so those fail at once.
- ``UGC_RETRY_DELAY_S`` scales the first retry delay (tests and fault drills use seconds).
- A failed task logs one summary line (DAG, task, run, try, error, log URL) that alerting can key on.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

log = logging.getLogger("ugc.alerts")


def on_task_failure(context) -> None:
    """Task-failure callback: one grep-able line with what failed and where to look."""
    ti = context.get("ti") or context.get("task_instance")
    err = context.get("exception")
    log.error("UGC_TASK_FAILED dag=%s task=%s run=%s try=%s/%s error=%s: %s log=%s",
              getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"), getattr(ti, "run_id", "?"),
              getattr(ti, "try_number", "?"), (getattr(ti, "max_tries", None) or 0) + 1,
              type(err).__name__ if err else "?", str(err)[:500] if err else "", getattr(ti, "log_url", ""))


def default_args(retries: int = 1, retry_delay: timedelta = timedelta(minutes=2)) -> dict:
    delay = float(os.environ.get("UGC_RETRY_DELAY_S", retry_delay.total_seconds()))
    return {"owner": "ugc-ml", "retries": retries, "retry_delay": timedelta(seconds=delay),
            "retry_exponential_backoff": True, "max_retry_delay": timedelta(minutes=30),
            "on_failure_callback": on_task_failure}
