"""The gRPC connection every Triton client shares: per-call timeout, retries with exponential backoff on
transient errors only (UNAVAILABLE, deadline exceeded), and the errors callers see.

Services use the typed clients on top: ``ugc.sentiment_client.SentimentClient`` and
``ugc.generator_client.GeneratorClient``.
"""

from __future__ import annotations


class ClientInputError(ValueError):
    """The request itself is invalid (not retryable)."""


class ServingUnavailable(RuntimeError):
    """Triton stayed unreachable after every retry."""


def is_transient(e: BaseException) -> bool:
    """UNAVAILABLE or deadline-exceeded: worth another try; anything else is the request's fault."""
    from tritonclient.utils import InferenceServerException

    if not isinstance(e, InferenceServerException):
        return False
    status = (e.status() or "").upper()
    return "UNAVAILABLE" in status or "DEADLINE" in status or "unavailable" in str(e).lower()


class TritonClient:
    """gRPC connection to one model with retries (tenacity) on transient errors only."""

    def __init__(self, url: str, model: str, timeout_s: float = 10.0, retries: int = 4, backoff_s: float = 0.2):
        import tritonclient.grpc as grpcclient

        self.url, self.model, self.timeout_s = url, model, timeout_s
        self.retries, self.backoff_s = retries, backoff_s
        self._client = grpcclient.InferenceServerClient(url)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and drop it now: a closed client still referenced at interpreter exit (a
        module-level ``with ... as c``) had its __del__ close it again with grpc half torn down, printing
        "Exception ignored ... 'NoneType' object has no attribute 'StatusCode'" after `make demo`."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _call(self, fn):
        from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        if self._client is None:
            raise RuntimeError(f"the client of {self.model} at {self.url} is closed")
        retrying = Retrying(retry=retry_if_exception(is_transient), stop=stop_after_attempt(self.retries + 1),
                            wait=wait_exponential(multiplier=self.backoff_s, exp_base=2), reraise=False)
        try:
            return retrying(fn)
        except RetryError as e:
            cause = e.last_attempt.exception()
            raise ServingUnavailable(f"Triton at {self.url} unavailable after {self.retries + 1} tries: {cause}") \
                from cause

    def serving_version(self) -> int | None:
        """The version of the model that answers a request naming none: the highest one loaded (Triton's rule
        with ``latest`` version policies); None when none is ready."""
        md = self._call(lambda: self._client.get_model_metadata(self.model, client_timeout=self.timeout_s))
        found = [int(v) for v in md.versions if str(v).isdigit()]
        return max(found) if found else None

    def model_parameter(self, name: str) -> str:
        """A string parameter of the deployed model's config (labels, tasks, limits are published there)."""
        cfg = self._call(lambda: self._client.get_model_config(self.model, client_timeout=self.timeout_s))
        return cfg.config.parameters[name].string_value
