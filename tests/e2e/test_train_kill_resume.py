"""A real `ugc train` process is SIGKILLed mid-run; the rerun resumes from its checkpoint."""

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import TINY
from ugc import checkpoints, registry

pytestmark = pytest.mark.slow


def _cmd(lake, reg):
    sets = {**TINY, "lake_uri": lake, "registry_uri": reg, "run_id": "killme", "epochs": 3,
            "checkpoint_every_steps": 5, "early_stopping_patience": 10}
    return [sys.executable, "-m", "ops.cli", "train"] + [a for k, v in sets.items() for a in ("--set", f"{k}={json.dumps(v)}")]


def test_sigkill_then_resume(small_lake, tmp_path):
    reg = str(tmp_path / "reg")
    work = f"{reg}/runs/killme"
    proc = subprocess.Popen(_cmd(small_lake, reg), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 240
        while not checkpoints.listed(work):
            assert proc.poll() is None and time.time() < deadline, "no checkpoint before exit/timeout"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    killed_at = int(checkpoints.listed(work)[-1].rsplit("-", 1)[-1].split(".")[0])
    assert registry.versions(reg) == []  # nothing half-registered

    r = subprocess.run(_cmd(small_lake, reg), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resumed from {work}/checkpoints/ckpt-{killed_at:08d}.pt" in r.stderr
    card = registry.production(reg)
    train_rows = json.loads(open(f"{work}/data/manifest.json").read())["rows"]["train"]
    assert card["training"]["steps"] == 3 * math.ceil(train_rows / TINY["batch_size"]) > killed_at
