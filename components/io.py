"""Run blocking work (database, hashing) off the event loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from nicegui import run

P = ParamSpec("P")
R = TypeVar("R")


async def io(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`run.io_bound` with the callee's return type (it is only None while the app shuts down)."""
    return cast(R, await run.io_bound(fn, *args, **kwargs))
