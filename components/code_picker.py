"""A search box over a code catalogue (ICD-10-CM, drugs): type words in any order or a code, pick one of the
results (searched on the server, capped), or, where allowed, use the typed text as an uncoded entry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.io import io
from data.catalog import CodeEntry

MIN_CHARS = 2


class CodePicker:
    def __init__(
        self,
        label: str,
        search: Callable[[str, int], list[CodeEntry]],
        on_pick: Callable[[CodeEntry], Awaitable[None] | None],
        marker: str,
        code_label: str = "",
        free_text: str | None = None,
        limit: int = 20,
    ) -> None:
        """`free_text`: the label of the "use what I typed" entry (e.g. "as an uncoded drug"); None: codes only."""
        self._search, self._on_pick, self._limit = search, on_pick, limit
        self._code_label, self._free_text = code_label, free_text
        self._asked = 0
        with ui.column().classes("w-full gap-1") as self.root:
            self.input = (
                ui.input(label, placeholder="Words in any order, or a code")
                .props("clearable autocomplete=off maxlength=200 debounce=250 type=search")
                .classes("w-full")
                .mark(marker)
            )
            self.input.on_value_change(self._changed)
            self.results = ui.list().props("dense bordered separator").classes("w-full rounded bg-white")
            self.results.visible = False
            self.results.mark(f"{marker}-results")

    async def _changed(self, _: Any = None) -> None:
        text = (self.input.value or "").strip()
        self._asked += 1
        asked = self._asked
        if len(text) < MIN_CHARS:
            self.results.clear()
            self.results.visible = False
            return
        found = await io(self._search, text, self._limit) or []  # None: the app is shutting down
        if asked != self._asked:  # a newer search is on its way: drop this one
            return
        self._show(text, found)

    def _show(self, text: str, found: list[CodeEntry]) -> None:
        self.results.clear()
        with self.results:
            for entry in found:
                with ui.item(on_click=lambda e=entry: self._pick(e)).props("clickable").mark(f"pick-{entry.code}"):
                    with ui.item_section():
                        ui.item_label(entry.name)
                        ui.item_label(f"{self._code_label} {entry.code}".strip()).props("caption")
            if self._free_text is not None:
                with ui.item(on_click=lambda: self._pick(CodeEntry("", text))).props("clickable").mark("pick-free"):
                    with ui.item_section():
                        ui.item_label(f"Use “{text}” {self._free_text}")
            if not found and self._free_text is None:
                with ui.item():
                    ui.item_label("Nothing matches. Try other words or the code.").classes("text-slate-500")
        self.results.visible = True

    def take_typed(self) -> str:
        """Take what is typed (no result picked): the box and its results are emptied; returns the text."""
        typed = " ".join((self.input.value or "").split())
        self._asked += 1  # a search still on its way is dropped
        self.results.clear()
        self.results.visible = False
        self.input.value = ""
        return typed

    async def _pick(self, entry: CodeEntry) -> None:
        self.take_typed()
        result = self._on_pick(entry)
        if result is not None:
            await result
