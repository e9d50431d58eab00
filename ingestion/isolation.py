"""Run a function over items in child processes, so that an item which kills its process (a native reader's
segfault) is reported as crashed instead of taking the whole run down.

Why hand-written: ``concurrent.futures`` reports a dead worker as ``BrokenProcessPool`` for every pending item
without saying which one died; this retries the unfinished items one per fresh process to find it.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

CRASHED = object()  # the result of an item whose process died
log = logging.getLogger(__name__)


def _context():
    # forkserver: children start from a clean single-threaded server, never from a parent that holds Arrow or
    # gRPC threads (fork from a threaded process can deadlock).
    ctx = mp.get_context("forkserver")
    # pandas too: pyarrow imports it on its first pa.array(list) (to probe for Series), so every child would.
    ctx.set_forkserver_preload(["pyarrow", "pyarrow.compute", "numpy", "pandas"])
    return ctx


def _call(fn: Callable, item, env: dict[str, str]):
    # A forkserver child inherits the server's environment from when it started; run with the caller's now
    # (credentials, endpoints, UGC_* settings).
    os.environ.clear()
    os.environ.update(env)
    return fn(item)


def _threads(fn: Callable, items: list, workers: int) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def run(fn: Callable, items: list, workers: int, isolate: bool = True) -> list:
    """``[fn(item) for item in items]`` in parallel; with ``isolate``, an item whose process dies gives CRASHED.
    Exceptions ``fn`` raises are re-raised (they are errors, not crashes). Where child processes cannot run
    at all (a daemonic worker; a main script that starts work when imported), it warns and uses threads."""
    if not items:
        return []
    if not isolate or mp.current_process().daemon:
        return _threads(fn, items, workers)
    results: dict[int, object] = {}
    pending = list(range(len(items)))
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=_context()) as pool:
            try:
                pool.submit(os.getpid).result()  # a canary: if no child can even start, no item is to blame
            except BrokenProcessPool as e:
                log.warning("no child processes (%s): parsing in threads, without crash isolation", e)
                return _threads(fn, items, workers)
            env = dict(os.environ)
            futures = {i: pool.submit(_call, fn, items[i], env) for i in pending}
            for i, f in futures.items():
                results[i] = f.result()
    except BrokenProcessPool:
        for i in [i for i in pending if i not in results]:  # one fresh process each: find the one that dies
            try:
                with ProcessPoolExecutor(max_workers=1, mp_context=_context()) as pool:
                    results[i] = pool.submit(_call, fn, items[i], dict(os.environ)).result()
            except BrokenProcessPool:
                results[i] = CRASHED
    return [results[i] for i in range(len(items))]
