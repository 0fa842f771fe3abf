"""AWS Lambda entry point for API Gateway (REST, proxy integration)."""

from __future__ import annotations

import base64
import json
from typing import Any

from .app import App, build_app

_app: App | None = None


def _get_app() -> App:
    global _app
    if _app is None:
        _app = build_app()
    return _app


def response(status: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, ensure_ascii=False),
    }


def handle_event(app: App, event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body")
    if body is not None and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return response(400, {"error": "request body is not valid base64 UTF-8"})
    path = event.get("resource") or event.get("path") or "/invoke"
    identity = (event.get("requestContext") or {}).get("identity") or {}
    caller = identity.get("apiKeyId") or None  # set by API Gateway for key-required methods
    status, payload = app.invoke(path, body, caller=caller)
    return response(status, payload)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_event(_get_app(), event)
