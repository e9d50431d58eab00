"""Putting a new version into service, the same way for every model: publish version N+1 -> load it ->
wait until every model of it is ready -> smoke-test through the client -> on any failure, delete N+1 and
bring N back (rollback). A version is only ever visible whole (``serving.repository.write_version``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable

from ugc import registry

log = logging.getLogger(__name__)


class DeployError(RuntimeError):
    """Deployment failed; the previous version is serving (rolled back)."""


def load_and_wait(url: str, models: tuple[str, ...], version: int | None, timeout_s: float) -> None:
    """Load ``models`` in order (steps before the ensemble that uses them) and wait until ``version`` of each is
    ready (polling with tenacity); DeployError on timeout."""
    import tritonclient.grpc as grpcclient
    from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

    client = grpcclient.InferenceServerClient(url)
    try:
        for name in models:
            client.load_model(name)
        poll = Retrying(retry=retry_if_result(lambda ready: not ready), stop=stop_after_delay(timeout_s),
                        wait=wait_fixed(0.25))
        for name in models:
            try:
                poll(client.is_model_ready, name, str(version) if version else "")
            except RetryError:
                raise DeployError(f"{name} version {version} not ready after {timeout_s}s") from None
    finally:
        client.close()


def configs_of(repo: str, models: tuple[str, ...]) -> dict[str, bytes]:
    """The config.pbtxt of each of ``models`` that exists: what a rollback restores."""
    from ugc import storage

    uris = {m: storage.join(repo, m, "config.pbtxt") for m in models}
    return {m: storage.read_bytes(u) for m, u in uris.items() if storage.exists(u)}


def activate_or_roll_back(repo: str, version: int, models: tuple[str, ...], load_and_smoke: Callable[[int], object],
                          configs_before: dict[str, bytes] | None = None):
    """``load_and_smoke(version)``; on failure delete that version, restore ``configs_before`` (a release may
    change a config: the ensemble's steps when the layout changed), bring the newest remaining version back and
    raise DeployError (saying whether the rollback worked too)."""
    from serving import repository
    from ugc import storage

    try:
        return load_and_smoke(version)
    except Exception as e:
        log.error("version %d of %s failed (%s); rolling back", version, models, e)
        repository.remove_version(repo, version, models)
        for m, text in (configs_before or {}).items():
            storage.write_bytes(storage.join(repo, m, "config.pbtxt"), text)
        remaining = repository.versions(repo, models[-1])
        if remaining:
            try:
                load_and_smoke(remaining[-1])
            except Exception as e2:  # noqa: BLE001 (report both)
                raise DeployError(f"version {version} failed ({e}) and the rollback failed too ({e2})") from e
        raise DeployError(f"version {version} failed and was rolled back: {e}") from e


def deploy(cfg, version: str | None, models: tuple[str, ...], publish: Callable[[str, dict], tuple[int, dict]],
           smoke: Callable[[int], object]) -> dict:
    """Fetch registry ``version`` (default: production), ``publish(model_dir, card) -> (triton_version, extra)``,
    then, when ``cfg.triton_url`` is set, load + ``smoke`` it with rollback. Returns the deploy record."""
    card = registry.card(cfg.registry_uri, version) if version else registry.production(cfg.registry_uri)
    if card is None:
        raise DeployError(f"no production model in {cfg.registry_uri}")
    before = configs_of(cfg.repo_uri, models)
    with tempfile.TemporaryDirectory(prefix="ugc-deploy-") as tmp:
        model_dir = registry.fetch(cfg.registry_uri, card["version"], f"{tmp}/model")
        tv, extra = publish(model_dir, card)
    result = {"registry_version": card["version"], "triton_version": tv, **extra, "loaded": False}
    if cfg.triton_url:
        from serving import repository

        def load_and_smoke(v: int):
            # A rollback across a layout change brings back an ensemble whose steps this release does not name
            # (still loaded, never unloaded): load the models that have version v.
            present = tuple(m for m in models if v in repository.versions(cfg.repo_uri, m))
            load_and_wait(cfg.triton_url, present, v, cfg.ready_timeout_s)
            return smoke(v)

        result["smoke"] = activate_or_roll_back(cfg.repo_uri, tv, models, load_and_smoke, before)
        result["loaded"] = True
    return result
