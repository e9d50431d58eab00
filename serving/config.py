"""Deployment configuration of both served models (light: DAGs build their Params from it)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ugc import settings
from ugc.config import Config


class DeployConfig(Config):
    """Publish a registry version to a Triton model repository and (optionally) load it there."""

    what = "deploy"
    registry_uri: str = Field(description="the model's registry ({lake}/registry/<model>)")
    repo_uri: str = Field(default_factory=settings.MODEL_REPOSITORY.get, description="Triton model repository")
    triton_url: str = Field("", description="gRPC host:port of a running server to load into; empty = publish only")
    target: Literal["cpu", "gpu"] = Field("cpu", description="instance kind (gpu: native onnxruntime, KIND_GPU)")
    max_batch_size: int = Field(64, ge=1, le=1024, description="largest batch Triton may form")
    parity_atol: float = Field(1e-4, gt=0, description="max |ONNX - torch| logit difference before publishing")
    ready_timeout_s: float = Field(120.0, gt=0, description="wait for every model of the new version to be ready")


class GeneratorDeployConfig(DeployConfig):
    max_batch_size: int = Field(8, ge=1, le=256, description="generation is memory-bound: small batches")
    queue_delay_us: int = Field(20000, ge=0, description="generation is slow: waiting 20 ms to fill a batch costs little")
    ready_timeout_s: float = Field(180.0, gt=0, description="loading an LLM takes longer than an encoder")
