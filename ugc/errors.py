"""Exceptions shared by every stage; DAGs map them to AirflowFailException (not retryable)."""


class ConfigError(ValueError):
    """A configuration value is missing or invalid (not retryable)."""


class GateFailed(RuntimeError):
    """A quality gate rejected its input; the message says which check failed and by how much."""
