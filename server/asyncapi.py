"""The AsyncAPI 3 document, generated from the protocol models (agents/protocol.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agents.protocol import ENDPOINTS, CancelMessage, CloseCode, ResumeMessage


def _schema(model: type[BaseModel], defs: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        defs[name] = sub
    return schema


def _with_job_fields(schema: dict[str, Any]) -> dict[str, Any]:
    props = dict(schema.get("properties", {}))
    props["job_id"] = {"type": "string", "description": "extension: the job this event belongs to"}
    props["seq"] = {
        "type": "integer",
        "minimum": 1,
        "description": "extension: position in the job's event log (1, 2, 3...)",
    }
    return {**schema, "properties": props}


def asyncapi_document(server_url: str) -> dict[str, Any]:
    defs: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    host = server_url.split("://", 1)[-1]
    for control in (ResumeMessage, CancelMessage):
        defs[control.__name__] = _schema(control, defs)
        messages[control.__name__] = {
            "name": control.__name__,
            "payload": {"$ref": f"#/components/schemas/{control.__name__}"},
            "summary": (control.__doc__ or "").strip(),
        }
    for name, ep in ENDPOINTS.items():
        req_name = ep.request.__name__
        defs[req_name] = _schema(ep.request, defs)
        messages[req_name] = {
            "name": req_name,
            "payload": {"$ref": f"#/components/schemas/{req_name}"},
        }
        channel_messages: dict[str, Any] = {
            req_name: {"$ref": f"#/components/messages/{req_name}"},
            "ResumeMessage": {"$ref": "#/components/messages/ResumeMessage"},
            "CancelMessage": {"$ref": "#/components/messages/CancelMessage"},
        }
        received = []
        for event in ep.events:
            key = f"{name}.{event.__name__}"
            defs[key] = _with_job_fields(_schema(event, defs))
            messages[key] = {
                "name": event.__name__,
                "payload": {"$ref": f"#/components/schemas/{key}"},
            }
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
            received.append({"$ref": f"#/channels/{name}/messages/{key}"})
        scope_text = "UCT (qk_uct_)" if ep.scope.value == "uct" else "ControlHub (qk_ch_)"
        channels[name] = {
            "address": f"/{name}",
            "summary": ep.summary,
            "description": f"Scope: {scope_text}. "
            "Authenticate with ?api_key=...; resume with ?job_id=...&since=N.",
            "messages": channel_messages,
            "bindings": {
                "ws": {
                    "query": {
                        "type": "object",
                        "properties": {
                            "api_key": {"type": "string"},
                            "job_id": {"type": "string"},
                            "since": {"type": "integer", "minimum": 0},
                        },
                        "required": ["api_key"],
                    }
                }
            },
        }
        operations[f"{name}.request"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": [
                {"$ref": f"#/channels/{name}/messages/{req_name}"},
                {"$ref": f"#/channels/{name}/messages/ResumeMessage"},
                {"$ref": f"#/channels/{name}/messages/CancelMessage"},
            ],
        }
        operations[f"{name}.events"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{name}"},
            "messages": received,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "qubitz",
            "version": "0.1.0",
            "description": "WebSocket API for research, chat, architecture specs, deployment and "
            "app API keys. Close codes: "
            + "; ".join(f"{int(c)} {c.description}" for c in CloseCode),
            # extension: the same table, for generated clients
            "x-close-codes": {
                str(int(c)): {"name": c.name, "description": c.description} for c in CloseCode
            },
        },
        "servers": {
            "default": {"host": host, "protocol": "ws" if server_url.startswith("http:") else "wss"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": defs},
    }
