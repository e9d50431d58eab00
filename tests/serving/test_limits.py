"""Resource limits of the served models: oversized requests are refused inside Triton (INVALID_ARG) without the
server's memory growing, small requests keep meeting their deadlines meanwhile, and ``ugc serve`` stops its
whole process group on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from serving.config import DeployConfig
from serving.sentiment_deploy import deploy
from serving.server import TritonServer, free_port
from ugc.sentiment_client import SentimentClient

pytestmark = pytest.mark.services


def _group_rss_mb(pgid: int) -> float:
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(pid)) != pgid:
                continue
            with open(f"/proc/{pid}/status") as f:
                total += next(int(ln.split()[1]) for ln in f if ln.startswith("VmRSS"))
        except (OSError, StopIteration):
            continue
    return total / 1024


def test_oversized_requests_are_refused_and_memory_stays_flat(tiny_registry, tmp_path):
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    with TritonServer(str(tmp_path / "repo")) as server:
        deploy(DeployConfig(registry_uri=tiny_registry, repo_uri=server.repo, triton_url=server.grpc_url))
        pgid = os.getpgid(server.proc.pid)
        with SentimentClient(server.grpc_url) as c:
            c.classify(["warm up"] * 8)
        before = _group_rss_mb(pgid)
        client = grpcclient.InferenceServerClient(server.grpc_url)
        big = np.array([b"x" * (1 << 20)] * 64, dtype=object).reshape(-1, 1)  # 64 texts of 1 MB
        errors, rss = [], []

        def attack():
            inp = grpcclient.InferInput("TEXT", list(big.shape), "BYTES")
            inp.set_data_from_numpy(big)
            try:
                client.infer("sentiment", [inp], client_timeout=60)
                errors.append("accepted")
            except InferenceServerException as e:
                errors.append(e.status())

        for _ in range(10):
            threads = [threading.Thread(target=attack) for _ in range(2)]
            for t in threads:
                t.start()
            with SentimentClient(server.grpc_url, timeout_s=5, retries=0) as c:  # a small caller, meanwhile
                assert c.classify(["还能用吗"])[0].label in ("negative", "neutral", "positive")
            for t in threads:
                t.join()
            rss.append(_group_rss_mb(pgid))
        client.close()
    assert set(errors) == {"StatusCode.INVALID_ARGUMENT"}
    # The first refusals grow the python stub's shared-memory pool and buffers up to a ceiling; after that the
    # allocator hands pages back and takes them again, so RSS swings by ~150 MB from round to round (a CI run saw
    # 659, 640, 661, 613, 534, 520, ... MB). A leak keeps climbing with every attack (2 x 64 MB a round), so the
    # last rounds must not rise above the peak of the earlier ones.
    assert max(rss) - before < 600, (before, rss)
    assert np.mean(rss[-3:]) - max(rss[:7]) < 100, (before, rss)


def test_ugc_serve_stops_tritonserver_and_its_stubs_on_sigterm(tmp_path):
    repo = tmp_path / "repo"
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ops.cli", "serve", "--repo", str(repo), "--grpc-port", str(port),
                             "--http-port", str(free_port()), "--metrics-port", str(free_port())],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    for line in proc.stdout:
        if "tritonserver ready" in line or time.time() > deadline:
            break
    assert proc.poll() is None

    def ours() -> list[int]:
        out = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if str(repo).encode() in f.read():
                        out.append(int(pid))
            except OSError:
                continue
        return out

    assert ours(), "tritonserver did not start"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    time.sleep(1)
    assert ours() == []
