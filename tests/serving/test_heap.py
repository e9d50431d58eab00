"""runners.compute_heap: a python-backend stub started with the server's small mmap threshold gets the heap back."""

import os
import subprocess
import sys

import pytest

# Bytes of mmapped chunks (mallinfo2().hblkhd) a live 1 MB malloc adds: ~1 MB while every block over 128 KB is
# an mmap of its own (the server's setting, inherited by each stub), 0 once it comes from the heap again.
CODE = """
import ctypes, sys
sys.path.insert(0, "serving/triton_models")
import runners

class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype, libc.malloc.restype = Info, ctypes.c_void_p

def mapped_by_one_mb():
    before = libc.mallinfo2().hblkhd
    p = libc.malloc(1 << 20)
    grew = libc.mallinfo2().hblkhd - before
    libc.free(ctypes.c_void_p(p))
    return grew

print(mapped_by_one_mb(), runners.compute_heap(), mapped_by_one_mb())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_compute_heap_undoes_the_servers_mmap_threshold_in_a_stub():
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024), "MALLOC_TRIM_THRESHOLD_": str(128 * 1024)}
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    before, ok, after = r.stdout.split()
    assert int(before) >= 1 << 20 and ok == "True" and int(after) == 0, r.stdout
