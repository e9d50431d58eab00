"""Training checkpoints shared by every loop: atomic save/load (local or S3) and the RNG states a resumed run
needs to make the same updates as one that was never killed. Torch is imported inside the functions."""

from __future__ import annotations

import io

import numpy as np

from ugc import storage


def listed(work: str) -> list[str]:
    """Checkpoint URIs under ``{work}/checkpoints``, oldest first."""
    uri = storage.join(work, "checkpoints")
    return sorted(f for f in storage.list_files(uri) if f.rsplit("/", 1)[-1].startswith("ckpt-"))


def save(obj: dict, uri: str) -> None:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    storage.write_bytes(uri, buf.getvalue())  # atomic: temp + rename locally, one PUT on S3


def load(uri: str) -> dict:
    import torch

    return torch.load(io.BytesIO(storage.read_bytes(uri)), map_location="cpu", weights_only=False)


def rng_state() -> dict:
    import random

    import torch

    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(s: dict) -> None:
    import random

    import torch

    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
