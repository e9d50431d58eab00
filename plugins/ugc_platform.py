"""Airflow plugin: the ugc-mlops platform page and API under /ugc on the api-server.

    GET  /ugc/                            HTML page: registries + latest reports
    GET  /ugc/api/registry/{model}        versions, headline metrics, which is production
    GET  /ugc/api/reports/latest          newest day's sentiment headline, drift status and topic list
    GET  /ugc/api/alerts                  alerts sent in the 7 days up to the newest report
    POST /ugc/api/registry/{model}/promote   {"version": ..., "expected_current": ..., "reason": ...}
    POST /ugc/api/registry/{model}/rollback  {"reason": ...}

Plugin FastAPI apps are open by default in Airflow 3, so every route depends on Airflow's own
authentication (a JWT from POST /auth/token, or the UI session cookie); promote/rollback also need
permission to edit the training DAGs. The lake comes from UGC_LAKE_URI.
"""

from __future__ import annotations

import html
from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.core_api.security import GetUserDep, get_user
from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, StringConstraints

from ops.http_limits import BodyLimit, read_json
from ugc.registry import VERSION_RE

# Every route, the HTML page included, needs an authenticated Airflow user; bodies are small JSON.
app = FastAPI(title="ugc-mlops platform", dependencies=[Depends(get_user)])
app.add_middleware(BodyLimit, max_bytes=16 * 1024)
Version = Annotated[str, StringConstraints(pattern=VERSION_RE.pattern, max_length=100)]
Reason = Annotated[str, StringConstraints(max_length=1000)]


def _lake() -> str:
    from ugc import settings

    if not settings.LAKE_URI.is_set():
        raise HTTPException(503, "UGC_LAKE_URI is not set on the api-server")
    return settings.LAKE_URI.get()


def _summary(model: str) -> dict:
    from ops import catalog

    _registry(model)  # 404 for an unknown model
    return catalog.registry_summary(_lake(), model)


def _registry(model: str) -> str:
    """The model's registry URI (404 for an unknown model), without reading any version."""
    from ugc import registry

    try:
        return registry.registry_uri(_lake(), model)
    except KeyError as e:
        raise HTTPException(404, str(e)) from e


def _may_edit(user, model: str) -> None:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    from ugc.assets import TRAINING_DAG

    if not get_auth_manager().is_authorized_dag(method="PUT", details=DagDetails(id=TRAINING_DAG[model]), user=user):
        raise HTTPException(403, f"{user.get_name()} may not change the {model} registry")


class Promote(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Version
    expected_current: Version | None = None
    reason: Reason = ""


class Rollback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = ""


def _registry_call(fn, *args, **kw) -> dict:
    """A registry change; 422 for a malformed version, 404 for a missing one, 409 for a conflict."""
    from ugc import registry

    try:
        return fn(*args, **kw)
    except registry.InvalidVersion as e:
        raise HTTPException(422, str(e)) from e
    except registry.VersionNotFound as e:
        raise HTTPException(404, str(e)) from e
    except registry.RegistryError as e:
        raise HTTPException(409, str(e)) from e


@app.get("/api/registry/{model}")
def registry_view(model: str) -> dict:
    return _summary(model)


@app.get("/api/reports/latest")
def reports_latest() -> dict:
    from ops import catalog

    return catalog.latest_reports(_lake()) or {"day": None}


@app.get("/api/alerts")
def alerts_recent() -> list[dict]:
    from ops import catalog

    return catalog.recent_alerts(_lake(), 7)


# The body is read inside the handlers, after authentication and authorisation (see ops/http_limits.py).
@app.post("/api/registry/{model}/promote")
async def promote(model: str, request: Request, user: GetUserDep) -> dict:
    from ugc import registry

    reg = _registry(model)
    _may_edit(user, model)
    body = await read_json(request, Promote)
    index = await run_in_threadpool(_registry_call, registry.promote, reg, body.version, body.expected_current,
                                    reason=f"{user.get_name()} via /ugc: {body.reason}")
    return {"production": index["production"]}


@app.post("/api/registry/{model}/rollback")
async def rollback(model: str, request: Request, user: GetUserDep) -> dict:
    from ugc import registry

    reg = _registry(model)
    _may_edit(user, model)
    body = await read_json(request, Rollback)
    index = await run_in_threadpool(_registry_call, registry.rollback, reg,
                                    reason=f"{user.get_name()} via /ugc: {body.reason}")
    return {"production": index["production"]}


@app.get("/", response_class=HTMLResponse)
def page() -> str:
    from ops import catalog
    from ugc.registry import MODELS

    parts = ["<!doctype html><meta charset=utf-8><title>ugc-mlops</title><h1>ugc-mlops models and reports</h1>"]
    for model in MODELS:
        s = _summary(model)
        parts.append(f"<h2>{model}</h2><p>production: <b>{html.escape(str(s['production']))}</b></p><table border=1>"
                     "<tr><th>version</th><th>production</th><th>test metrics</th></tr>")
        for v in s["versions"]:
            metrics = ", ".join(f"{k}={val:.4g}" for k, val in v["test"].items() if isinstance(val, int | float))
            parts.append(f"<tr><td>{html.escape(v['version'])}</td><td>{'yes' if v['production'] else ''}</td>"
                         f"<td>{html.escape(metrics)}</td></tr>")
        parts.append("</table>")
    rep = catalog.latest_reports(_lake())
    if rep:
        parts.append(f"<h2>Reports {html.escape(rep['day'])}</h2><p>{html.escape(str((rep['sentiment'] or {}).get('summary')))}"
                     f"</p><p>drift: {html.escape(str((rep['drift'] or {}).get('status')))}</p>")
        parts.append("<h2>Topics</h2><table border=1><tr><th>topic</th><th>state</th><th>posts</th>"
                     "<th>negative share</th></tr>")
        for t in rep.get("topics", []):
            neg = "" if t["negative_share"] is None else f"{t['negative_share']:.0%}"
            parts.append(f"<tr><td>{html.escape(str(t['label']))}</td><td>{html.escape(str(t['state']))}</td>"
                         f"<td>{t['posts']}</td><td>{neg}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Alerts (last 7 days)</h2><table border=1><tr><th>day</th><th>event</th><th>channels</th></tr>")
    for a in catalog.recent_alerts(_lake(), 7, rep["day"] if rep else None):
        parts.append(f"<tr><td>{html.escape(a['day'])}</td><td><a href=\"{html.escape(a['link'], quote=True)}\">"
                     f"{html.escape(a['title'])}</a></td><td>{html.escape(', '.join(a['channels']))}</td></tr>")
    parts.append("</table>")
    return "".join(parts)


class UgcPlatformPlugin(AirflowPlugin):
    name = "ugc_platform"
    fastapi_apps = [{"app": app, "url_prefix": "/ugc", "name": "ugc-mlops models and reports"}]
    external_views = [{"name": "ugc-mlops models", "href": "/ugc/", "destination": "nav", "category": "browse"}]
