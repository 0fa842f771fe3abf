"""Run a blocking iterator (boto3 event stream, llama.cpp generation) off the event loop.

`iterate_in_thread(open_iter)` calls `open_iter(stop)` in a worker thread and hands each item to
the async consumer through a bounded queue. When the consumer stops early (break, error or task
cancellation) `stop` is set; the blocking side checks it between items and closes its source.
`done` (a `threading.Event`) is set when the worker thread has finished.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from typing import Generic, TypeVar, cast

T = TypeVar("T")

_END = object()


class ThreadedIterator(Generic[T]):
    def __init__(
        self,
        open_iter: Callable[[threading.Event], Iterator[T]],
        *,
        executor: Executor | None = None,
        max_buffered: int = 256,
    ) -> None:
        self._open_iter = open_iter
        self._executor = executor
        self._max_buffered = max_buffered
        self.stop = threading.Event()
        self.done = threading.Event()

    async def __aiter__(self) -> AsyncIterator[T]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        room = threading.Semaphore(self._max_buffered)

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                source = self._open_iter(self.stop)
                try:
                    for item in source:
                        while not room.acquire(timeout=0.1):
                            if self.stop.is_set():
                                return
                        if self.stop.is_set():
                            return
                        put(item)
                finally:
                    close = getattr(source, "close", None)
                    if close is not None:
                        close()
            except BaseException as exc:  # handed to the consumer, re-raised there
                if not self.stop.is_set():
                    put(_Failure(exc))
            finally:
                self.done.set()
                if not self.stop.is_set():
                    put(_END)

        future = loop.run_in_executor(self._executor, work)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, _Failure):
                    raise item.error
                room.release()
                yield cast(T, item)
        finally:
            self.stop.set()
            if future.done():
                future.result()
            else:
                future.add_done_callback(_swallow)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def _swallow(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
