"""A handler's message reaches its page even when a live refresh deleted the element that started it (an admin's
Move on a row that the move itself removes)."""

from __future__ import annotations

import asyncio
import gc

from nicegui import Client, context, ui
from nicegui.testing import User

from components.frame import page_client
from tests.ui.test_booking_live import eventually


async def test_the_page_of_a_handler_whose_row_was_removed_is_still_found(user: User) -> None:
    seen: dict[str, object] = {}

    @ui.page("/test-handler-after-delete")
    def page() -> None:
        rows = {"row": ui.card()}
        with rows["row"]:

            async def act() -> None:
                await asyncio.sleep(0)  # the command runs in a worker; meanwhile a live event redraws the list
                rows.pop("row").delete()
                gc.collect()  # the row is gone, as it is once nothing refers to it any more
                try:
                    context.client  # noqa: B018  (what ui.notify would use)
                except RuntimeError as error:
                    seen["context"] = str(error)
                seen["page"] = page_client()

            ui.button("Move", on_click=act)

    client: Client = await user.open("/test-handler-after-delete")
    user.find("Move").click()
    await eventually(lambda: "page" in seen)
    assert "has been deleted" in str(seen["context"])  # the element that started the handler is gone...
    assert seen["page"] is client  # ...and its page is still found, so the message reaches it
