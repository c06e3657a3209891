"""Run blocking work (database, hashing) off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar, cast

from nicegui import core, run

P = ParamSpec("P")
R = TypeVar("R")


async def io(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`run.io_bound` with the callee's return type. While the app shuts down, NiceGUI 3 returns None instead of
    running the work (4.0 will raise CancelledError): that None must not reach a page as if the query had found
    nothing, so the handler is cancelled here, as it will be by 4.0."""
    if core.app.is_stopping:
        raise asyncio.CancelledError("the app is shutting down")
    result = await run.io_bound(fn, *args, **kwargs)
    if result is None and core.app.is_stopping:
        raise asyncio.CancelledError("the app is shutting down")
    return cast(R, result)


# Password hashing (argon2, ~0.1 s of CPU and 64 MiB each) gets its own small pool, so a burst of
# sign-ins cannot occupy the threads every page needs for its database reads.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hashing")


async def hashing(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, functools.partial(fn, *args, **kwargs))
