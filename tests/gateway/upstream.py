"""A tiny app standing in for a deployed agent: echoes what reached it; can hold a stream open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def make_upstream(name: str, release: asyncio.Event | None = None) -> Starlette:
    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {
                "upstream": name,
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "body": body.decode(),
                "key_id": request.headers.get("x-qubitz-api-key-id"),
                "saw_api_key": "x-api-key" in request.headers,
                "forwarded_for": request.headers.get("x-forwarded-for"),
            },
            headers={"x-upstream": name},
        )

    async def slow(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield f"{name}:first;".encode()
            if release is not None:
                await release.wait()
            yield f"{name}:second".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    async def stall(request: Request) -> Response:
        if release is not None:
            await release.wait()
        return JSONResponse({"upstream": name, "stalled": True})

    return Starlette(
        routes=[
            Route("/slow", slow),
            Route("/stall", stall),
            Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )
