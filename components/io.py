"""Run blocking work (database, hashing) off the event loop."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar, cast

from nicegui import run

P = ParamSpec("P")
R = TypeVar("R")


async def io(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`run.io_bound` with the callee's return type (it is only None while the app shuts down)."""
    return cast(R, await run.io_bound(fn, *args, **kwargs))


# Password hashing (argon2, ~0.1 s of CPU and 64 MiB each) gets its own small pool, so a burst of
# sign-ins cannot occupy the threads every page needs for its database reads.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hashing")


async def hashing(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, functools.partial(fn, *args, **kwargs))
