"""The read API as an OpenAPI 3.1 document, its schemas generated from the pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from server.api.models import SCHEMAS

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


PROBLEMS = {
    "401": _json_response("no key, or an unknown or revoked key", "Problem"),
    "429": _json_response("too many requests for this key", "Problem"),
}
NOT_FOUND = {"404": _json_response("no such id in this key's workspace and scope", "Problem")}
INVALID = {"422": _json_response("a query parameter is invalid", "Problem")}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "at most this many")
JOB_ID = _path_param("job_id", "a job id (job_…)")
PROJECT_ID = _path_param("project_id", "a research project id, or a spec project id")


def openapi_document(public_url: str) -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "serialization") for m in SCHEMAS], ref_template=REF)
    components = schemas.get("$defs", {})
    paths: dict[str, Any] = {
        "/v1/jobs": {
            "get": {
                "operationId": "listJobs",
                "summary": "running and recent jobs this key can see, newest first",
                "parameters": [
                    _query("route", {"type": "string"}, "only jobs of this WebSocket route"),
                    _query(
                        "state",
                        {"type": "string", "enum": ["running", "succeeded", "failed", "cancelled"]},
                        "only jobs in this state",
                    ),
                    LIMIT,
                ],
                "responses": {"200": _json_response("the jobs", "JobList"), **INVALID, **PROBLEMS},
            }
        },
        "/v1/jobs/{job_id}": {
            "get": {
                "operationId": "getJob",
                "summary": "one job: state, route, timestamps, last seq, progress, outcome",
                "parameters": [JOB_ID],
                "responses": {
                    "200": _json_response("the job", "JobDetail"),
                    **NOT_FOUND,
                    **PROBLEMS,
                },
            }
        },
        "/v1/jobs/{job_id}/events": {
            "get": {
                "operationId": "getJobEvents",
                "summary": "the job's stored events after `since`, as JSON lines",
                "parameters": [
                    JOB_ID,
                    _query("since", {"type": "integer", "minimum": 0}, "events after this seq"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 5000},
                        "at most this many events",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "one event (the WebSocket's JSON) per line; headers "
                        "X-Qubitz-Job-State and X-Qubitz-Last-Seq tell where the job is",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    },
                    **NOT_FOUND,
                    **INVALID,
                    **PROBLEMS,
                },
            }
        },
        "/v1/jobs/{job_id}/cancel": {
            "post": {
                "operationId": "cancelJob",
                "summary": 'cancel a running job (as `{"type": "cancel"}` on its socket)',
                "parameters": [JOB_ID],
                "responses": {
                    "202": _json_response("cancellation requested", "CancelAccepted"),
                    "409": _json_response("the job has already ended", "Problem"),
                    **NOT_FOUND,
                    **PROBLEMS,
                },
            }
        },
        "/v1/projects": {
            "get": {
                "operationId": "listProjects",
                "summary": "research projects (research key) or spec projects (ControlHub key)",
                "parameters": [LIMIT],
                "responses": {
                    "200": _json_response("the projects", "ProjectList"),
                    **INVALID,
                    **PROBLEMS,
                },
            }
        },
        "/v1/projects/{project_id}": {
            "get": {
                "operationId": "getProject",
                "summary": "reports and artifact URLs, or spec versions and the deployment",
                "parameters": [PROJECT_ID],
                "responses": {
                    "200": _json_response("the project", "ProjectDetail"),
                    **NOT_FOUND,
                    **PROBLEMS,
                },
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "qubitz read API",
            "version": "1",
            "description": "Jobs and projects over HTTP, with the WebSocket routes' keys. "
            "The streaming protocol itself is described by /asyncapi.json.",
        },
        "servers": [{"url": public_url}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "qk_uct_… or qk_ch_…",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
