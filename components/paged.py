"""A server-paged list: a table on tablets and desktops, the same rows as cards on phones, "21–40 of 312" and
Previous / Next. Only one page of rows is ever in the browser; a new page replaces the rows in place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

Loader = Callable[[int, int], Awaitable[tuple[list[dict[str, Any]], int] | None]]


class PagedTable:
    def __init__(
        self,
        columns: list[tuple[str, str]],
        load: Loader,
        page_size: int = 25,
        empty: str = "Nothing found.",
        marker: str = "paged",
    ) -> None:
        """`load(limit, offset)` returns (rows, total), or None when it failed (it tells the user itself).
        Every row has an "id" and a text value for each column field."""
        self.columns, self.load, self.page_size, self.offset, self.total = columns, load, page_size, 0, 0
        spec = [{"name": f, "label": label, "field": f, "align": "left"} for f, label in columns]
        self.table = ui.table(columns=spec, rows=[], row_key="id", pagination=0)
        self.table.classes("w-full gt-xs").props("flat bordered wrap-cells hide-pagination")
        self.table.mark(f"{marker}-table")
        self.cards = ui.column().classes("xs w-full gap-2")
        with ui.row().classes("w-full items-center gap-2"):
            self.summary = ui.label().classes("text-sm text-slate-500").mark(f"{marker}-summary")
            ui.space()
            self.prev = ui.button("Previous", icon="chevron_left", on_click=self.previous).props("flat no-caps")
            self.next = ui.button("Next", icon="chevron_right", on_click=self.following).props("flat no-caps")
            self.prev.mark(f"{marker}-previous")
            self.next.mark(f"{marker}-next")
        self.empty = empty

    async def reload(self, first_page: bool = True) -> None:
        if first_page:
            self.offset = 0
        result = await self.load(self.page_size, self.offset)
        if result is None:
            if first_page:  # a new filter that could not be used: the old results would read as its answer
                self.table.rows = []
                self.table.update()
                self.cards.clear()
                self.summary.text = "Nothing shown until the filter above is corrected."
                self.prev.set_enabled(False)
                self.next.set_enabled(False)
            return
        rows, self.total = result
        self.table.rows = rows
        self.table.update()
        self.cards.clear()
        with self.cards:
            for row in rows:
                with ui.card().classes("w-full p-3 gap-0"):
                    ui.label(str(row[self.columns[0][0]])).classes("font-medium")
                    for field, label in self.columns[1:]:
                        with ui.row().classes("gap-2 text-sm no-wrap"):
                            ui.label(label).classes("text-slate-500 w-24 shrink-0")
                            ui.label(str(row[field])).classes("break-words min-w-0")
        if not rows:
            self.summary.text = self.empty
        else:
            self.summary.text = f"{self.offset + 1}–{self.offset + len(rows)} of {self.total}"
        self.prev.set_enabled(self.offset > 0)
        self.next.set_enabled(self.offset + len(rows) < self.total)

    async def previous(self) -> None:
        self.offset = max(0, self.offset - self.page_size)
        await self.reload(first_page=False)

    async def following(self) -> None:
        if self.offset + self.page_size < self.total:
            self.offset += self.page_size
            await self.reload(first_page=False)
