"""Extension events of durable jobs, in each endpoint's own status shape (docs/protocol.md).

`resumed`: part of the job's log, once, before a step that runs again after a failover: clients
drop the partial output of that step. `queued`: sent to a socket (not logged, like keepalives)
while its job waits in the cross-replica queue.
"""

from __future__ import annotations

from typing import Any

from agents.protocol import EndpointProtocol, ErrorShape


def _status(endpoint: EndpointProtocol, message: str, session_id: str | None) -> dict[str, Any]:
    if endpoint.error_shape is ErrorShape.DATA:
        return {"type": "status", "data": {"status": "processing", "message": message}}
    kind = "chat_status" if endpoint.error_shape is ErrorShape.CHAT else "status"
    event: dict[str, Any] = {"type": kind, "message": message}
    if session_id is not None:
        event["session_id"] = session_id
    return event


def _extend(event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    target: dict[str, Any] = event.get("data", event)
    target.update(fields)
    return event


def resumed_event(endpoint: EndpointProtocol, step: str, session_id: str | None) -> dict[str, Any]:
    message = f"Resuming at step '{step}' after a server failover."
    return _extend(_status(endpoint, message, session_id), resumed=True, step=step)


def queued_event(
    endpoint: EndpointProtocol, position: int, session_id: str | None = None
) -> dict[str, Any]:
    message = f"Waiting for a free worker: position {position} in the queue."
    return _extend(_status(endpoint, message, session_id), queued=True, queue_position=position)
