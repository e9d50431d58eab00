"""Headless Chromium (Debian's package) as the judge of what an HTML page shows and runs.

Every payload is written to change ``document.title`` to 1337 and survives lower-casing (ingest lower-cases
platform names), so a page whose title becomes 1337 ran injected script.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile

PAYLOADS = [
    "<script>document.title=1337</script>", "<img src=x onerror=document.title=1337>",
    "<svg onload=document.title=1337>", "\"><script>document.title=1337</script>",
    "</td></tr></table><script>document.title=1337</script>", "<iframe srcdoc=\"<script>parent.document.title=1337</script>\">",
    "<body onload=document.title=1337>", "<details open ontoggle=document.title=1337>",
    "<input autofocus onfocus=document.title=1337>", "' onmouseover=document.title=1337 x='",
    "<math><mtext><table><mglyph><style><img src=x onerror=document.title=1337>",
    "<object data=\"javascript:document.title=1337\">", "<video><source onerror=document.title=1337>",
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]


def binary() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "headless Chromium is missing: apt-get install chromium (.ci/run installs it)"
    return path


def dom(path: str) -> str:
    """The DOM after the page loaded and ran whatever it runs (3 s of virtual time)."""
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run([binary(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=3000",
                            "--dump-dom", f"file://{path}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "<html" in r.stdout, r.stderr[-2000:]
    return r.stdout


def ran_injected_script(path: str) -> bool:
    return "<title>1337</title>" in dom(path)
