"""Run a real Triton Inference Server from the ``nvidia-pytriton`` wheel (no Docker needed).

The wheel bundles ``tritonserver`` (2.51) with the python backend only. We point it at a backend
directory holding that backend plus the stub built for this interpreter, make the venv's packages
visible to python-backend models, and drive it in explicit model-control mode over gRPC.

CLI: ``ugc serve --repo model_repository [--grpc-port 8001] [--load sentiment]``
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile

from ugc import settings


class ServerError(RuntimeError):
    """tritonserver could not be started or did not become ready."""


def _pytriton_dir() -> str:
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        raise ServerError("nvidia-pytriton is not installed (it carries the tritonserver binary)")
    return os.path.join(list(spec.submodule_search_locations)[0], "tritonserver")


def _backend_dir(root: str) -> str:
    """backends/python/{libtriton_python.so, triton_python_backend_utils.py, triton_python_backend_stub}."""
    src = _pytriton_dir()
    dst = os.path.join(root, "backends", "python")
    os.makedirs(dst, exist_ok=True)
    for name in ("libtriton_python.so", "triton_python_backend_utils.py"):
        link = os.path.join(dst, name)
        if not os.path.exists(link):
            os.symlink(os.path.join(src, "backends", "python", name), link)
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = os.path.join(src, "python_backend_stubs", ver, "triton_python_backend_stub")
    shutil.copy2(stub, os.path.join(dst, "triton_python_backend_stub"))
    return os.path.join(root, "backends")


def default_python_env() -> str:
    """Where python-backend models run: UGC_TRITON_PYTHON_ENV, else ./.venv-triton (make install builds it).

    A separate env because the bundled python-backend stub corrupts BYTES tensors under numpy 2
    (each length prefix arrives as its first byte repeated: 0x06060606 for 6); numpy<2 works.
    """
    env = settings.TRITON_PYTHON_ENV.get()
    if not os.path.exists(os.path.join(env, "bin", "python")):
        raise ServerError(f"no python env for Triton models at {env} (run `make install`)")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TritonServer:
    """A tritonserver subprocess; ``with TritonServer(repo) as s: s.grpc_url``."""

    def __init__(self, repo: str, grpc_port: int = 0, http_port: int = 0, metrics_port: int = 0,
                 load: tuple[str, ...] = (), log_path: str | None = None, startup_timeout: float = 120,
                 python_env: str | None = None):
        self.repo = os.path.abspath(repo) if "://" not in repo else repo
        self.grpc_port = grpc_port or free_port()
        self.http_port = http_port or free_port()
        self.metrics_port = metrics_port or free_port()
        self.load = load
        self.startup_timeout = startup_timeout
        self._tmp = tempfile.mkdtemp(prefix="ugc-triton-")
        self.log_path = log_path or os.path.join(self._tmp, "tritonserver.log")
        self.proc: subprocess.Popen | None = None
        self.python_env = python_env or default_python_env()

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self) -> TritonServer:
        if "://" not in self.repo:
            os.makedirs(self.repo, exist_ok=True)
        binary = os.path.join(_pytriton_dir(), "bin", "tritonserver")
        libs = os.path.join(os.path.dirname(os.path.dirname(_pytriton_dir())), "nvidia_pytriton.libs")
        env = dict(os.environ)
        # The python-backend stub links libpython3.11.so.1.0; it must be the one whose stdlib the
        # models import (else extension modules such as _ssl fail with undefined symbols), not
        # whichever the system loader finds first.
        pylib = sysconfig.get_config_var("LIBDIR") or ""
        pylib = pylib if os.path.exists(os.path.join(pylib, "libpython3.11.so.1.0")) else ""
        env["LD_LIBRARY_PATH"] = ":".join(p for p in (libs, pylib, env.get("LD_LIBRARY_PATH", "")) if p)
        # Large request buffers (a 64 x 1 MB request is refused, but first received and parsed) must go back to
        # the OS when freed: glibc's adaptive mmap threshold would keep them in a heap that only grows.
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(128 * 1024))
        env.setdefault("MALLOC_TRIM_THRESHOLD_", str(128 * 1024))
        env.setdefault("MALLOC_ARENA_MAX", "2")
        # The python backend runs model.py with the first `python` on PATH: the serving env's.
        env["PATH"] = os.path.join(self.python_env, "bin") + ":" + env.get("PATH", "")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
        args = [binary, f"--model-repository={self.repo}", f"--backend-directory={_backend_dir(self._tmp)}",
                "--model-control-mode=explicit", f"--grpc-port={self.grpc_port}", f"--http-port={self.http_port}",
                f"--metrics-port={self.metrics_port}", "--pinned-memory-pool-byte-size=0", "--allow-gpu-metrics=false",
                "--exit-timeout-secs=5", "--strict-readiness=true", "--log-verbose=0",
                # Pooled request/response messages keep the capacity of the largest request they ever held (a
                # refused 64 MB request would stay resident per slot): free them after each request instead.
                "--grpc-infer-allocation-pool-size=0"]
        args += [f"--load-model={m}" for m in self.load]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.wait_ready()
        return self

    def _ready(self, client) -> bool:
        if self.proc.poll() is not None:
            raise ServerError(f"tritonserver exited with {self.proc.returncode}: {self.log_tail()}")
        try:
            return client.is_server_live() and client.is_server_ready()
        except Exception:  # noqa: BLE001 (not listening yet)
            return False

    def wait_ready(self) -> None:
        import tritonclient.grpc as grpcclient
        from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

        client = grpcclient.InferenceServerClient(self.grpc_url)
        try:
            Retrying(retry=retry_if_result(lambda ok: not ok), stop=stop_after_delay(self.startup_timeout),
                     wait=wait_fixed(0.25))(self._ready, client)
        except RetryError:
            self.stop()
            raise ServerError(f"tritonserver not ready after {self.startup_timeout}s: {self.log_tail()}") from None
        finally:
            client.close()

    def log_tail(self, n: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
        shutil.rmtree(os.path.join(self._tmp, "backends"), ignore_errors=True)

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
