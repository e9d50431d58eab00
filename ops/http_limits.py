"""Request hardening for the platform's HTTP endpoints (the /ugc Airflow plugin).

- ``BodyLimit``: an ASGI middleware refusing request bodies over a size (413), and bodies of unknown length
  (411), before anything reads them.
- ``read_json``: the body parsed only inside the handler, i.e. after authentication (FastAPI parses declared
  body models *before* running dependencies, so a 100k-deep JSON body used to be parsed for anonymous callers),
  with nesting errors as 400 and schema errors as 422 - never a 500.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ValidationError


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            status = 411 if length is None and headers.get(b"transfer-encoding") else None
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                status = 413
            if status:
                body = json.dumps({"detail": f"request body must be at most {self.max_bytes} bytes with a "
                                             "Content-Length"}).encode()
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def read_json(request, model: type[BaseModel]):
    """The request body as ``model``; HTTPException 400 (not JSON, too deep) or 422 (wrong fields or values)."""
    from fastapi import HTTPException

    raw = await request.body()
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, RecursionError) as e:
        raise HTTPException(400, f"body is not JSON or is nested too deep: {type(e).__name__}") from None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise HTTPException(422, e.errors(include_url=False, include_input=False, include_context=False)) from None
