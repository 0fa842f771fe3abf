"""Run the app under uvicorn with the settings' limits; shutdown closes sockets GOING_AWAY."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import re
from typing import Any

import uvicorn

from server.app import create_app
from server.logs import configure_logging
from server.settings import Settings

log = logging.getLogger("qubitz.serve")

_SECRET_QUERY = re.compile(r"(api_key=)[^&\s\"']+")


class RedactKeys(logging.Filter):
    """Keys travel in the query string (?api_key=...); never let them reach a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1***", a) if isinstance(a, str) else a
                for a in (record.args if isinstance(record.args, tuple) else (record.args,))
            )
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1***", record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "qubitz"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactKeys) for f in logger.filters):
            logger.addFilter(RedactKeys())


class _Server(uvicorn.Server):
    """Before uvicorn closes connections itself, tell our sockets to go away (GOING_AWAY).

    Once the app has started, everything it built (modules, models, DBOS, SQLAlchemy metadata:
    about 100,000 objects) is moved out of the garbage collector's reach (`gc.freeze`), so that
    collections, triggered all the time by streaming, walk only what jobs allocate. Without it,
    collections were a third of the CPU per streamed event (docs/benchmarks.md)."""

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        gc.collect()
        gc.freeze()

    async def shutdown(self, sockets: Any = None) -> None:
        # the state the app's lifespan yielded (server/app.py)
        state = getattr(getattr(self, "lifespan", None), "state", None) or {}
        services = state.get("services")
        if services is not None:
            services.stop_accepting()
            await asyncio.sleep(0.2)
        await super().shutdown(sockets=sockets)


def uvicorn_config(settings: Settings, app: Any | None = None) -> _Config:
    ws_impl = "websockets-sansio"
    loop = "auto"
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401

        loop = "uvloop"
    return _Config(
        app or create_app(settings),
        host=settings.server.host,
        port=settings.server.port,
        loop=loop,
        http="auto",
        ws=ws_impl,
        ws_max_size=max(16 * 1024 * 1024, settings.server.max_message_bytes * 2),
        ws_per_message_deflate=False,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_level=settings.server.log_level,
        timeout_graceful_shutdown=int(settings.server.shutdown_grace) + 5,
        proxy_headers=True,
    )


class _Config(uvicorn.Config):
    """uvicorn.Config that redacts keys from uvicorn's own loggers once it configured them."""

    def configure_logging(self) -> None:
        super().configure_logging()
        if self.qubitz_logging is not None:
            configure_logging(*self.qubitz_logging[:1], json_lines=self.qubitz_logging[1])
        install_log_redaction()

    qubitz_logging: tuple[str, bool] | None = None


def serve(settings: Settings) -> None:
    config = uvicorn_config(settings)
    config.qubitz_logging = (settings.server.log_level, settings.server.log_json)
    config.configure_logging()
    log.info("qubitz on %s (data dir %s)", settings.resolved_public_url, settings.data_dir)
    _Server(config).run()
