"""Long fuzz run of the ingest boundary, plus the PII and safety-filter case tables.

    python bench/fuzz.py [--drops 10000] [--workers 2]

Drops come from tests/fuzzing.py (valid rows mixed with hostile lines, files and encodings). Batches of drops
run in child processes (ingestion.isolation), so a native crash is counted, not fatal. Prints: drops, files,
lines, crashes (a drop whose ingest raised or whose process died), silent damage (a valid row lost or changed,
an id rewritten, PII left), and the case tables' rates.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def run_batch(seeds: list[int]) -> list[dict]:
    """Ingest each seed's drop (threads inside this child); one result per seed."""
    from ingestion.config import IngestConfig
    from ingestion.pipeline import ingest_day
    from tests import fuzzing
    from ugc import lake, storage

    out = []
    for seed in seeds:
        files, valid = fuzzing.drop(seed)
        lines = sum(fuzzing.decompressed(n, d).count(b"\n") for n, d in files.items() if ".parquet" not in n)
        root = tempfile.mkdtemp(prefix="ugc-fuzz-")
        for name, data in files.items():
            storage.write_bytes(f"{root}/landing/dt={fuzzing.DAY}/{name}", data)
        try:
            cfg = IngestConfig.from_dict({"lake_uri": f"{root}/lake", "day": fuzzing.DAY, "isolation": "thread"})
            s = ingest_day(cfg, f"{root}/landing/dt={fuzzing.DAY}")
            rows = {r["post_id"]: r for r in lake.read_partition(s["partition_uri"]).to_pylist()}
            problems = fuzzing.problems(files, valid, s, rows)
            out.append({"seed": seed, "files": len(files), "lines": lines, "crash": None, "damage": problems})
        except Exception as e:  # noqa: BLE001 (what we count)
            out.append({"seed": seed, "files": len(files), "lines": lines, "crash": f"{type(e).__name__}: {e}",
                        "damage": []})
    return out


def case_tables() -> dict:
    import unicodedata

    import pyarrow as pa

    from ingestion import clean
    from tests.data.pii_cases import KEEP, LEAKS
    from tests.data.safety_cases import BENIGN, disguised
    from ugc import safety

    def squash(s):
        return "".join(c for c in unicodedata.normalize("NFKC", s) if c.isalnum()).casefold()

    red = clean.redact_pii(clean.normalize_text(pa.array([t for t, _ in LEAKS])))[0].to_pylist()
    caught = sum(squash(secret) not in squash(o) for (_, secret), o in zip(LEAKS, red, strict=True))
    kept = clean.redact_pii(clean.normalize_text(pa.array(KEEP)))[0].to_pylist()
    cases = disguised(safety.banned_terms())
    bypass = sum(f"banned:{term}" not in safety.check(text).reasons for text, term in cases)
    false = sum(safety.check(b).blocked for b in BENIGN)
    return {"pii": (caught, len(LEAKS)), "pii_false_positives": (sum(k != unicodedata.normalize("NFKC", t)
                                                                     for t, k in zip(KEEP, kept, strict=True)), len(KEEP)),
            "safety_bypass": (bypass, len(cases)), "safety_false_blocks": (false, len(BENIGN))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drops", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--start", type=int, default=1_000_000)
    a = ap.parse_args()
    from ingestion import isolation

    t0 = time.perf_counter()
    seeds = list(range(a.start, a.start + a.drops))
    batches = [seeds[i:i + a.batch] for i in range(0, len(seeds), a.batch)]
    results, crashed_batches = [], 0
    for res in isolation.run(run_batch, batches, a.workers):
        if res is isolation.CRASHED:
            crashed_batches += 1
            continue
        results += res
    crashes = [r for r in results if r["crash"]] + [None] * (crashed_batches * a.batch)
    damaged = [r for r in results if r["damage"]]
    print(f"drops {len(results)} (+{crashed_batches * a.batch} in batches whose process died), "
          f"files {sum(r['files'] for r in results)}, lines {sum(r['lines'] for r in results)}, "
          f"{time.perf_counter() - t0:.0f}s")
    print(f"crashes {len(crashes)}, silent damage {len(damaged)}")
    for r in (crashes[:5] if crashes and crashes[0] else []) + damaged[:5]:
        print("  ", r["seed"], r["crash"] or r["damage"][:3])
    for k, (bad, n) in case_tables().items():
        print(f"{k}: {bad}/{n} = {bad / n:.1%}")


if __name__ == "__main__":
    main()
