"""Sign in, sign out, register."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import app, ui

from components.frame import HOME, frame, notify_error
from components.io import io
from domain.errors import DomainError
from pages.context import AppContext


def _safe_next(target: str | None) -> str | None:
    # only local paths: never an open redirect to another site
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def register(ctx: AppContext) -> None:
    @ui.page("/")
    async def index() -> RedirectResponse:
        account_id = app.storage.user.get("account_id")
        if isinstance(account_id, int):
            try:
                actor = await io(ctx.services.actor_for, account_id)
            except DomainError:
                app.storage.user.clear()
            else:
                return RedirectResponse(HOME[actor.role], status_code=303)
        return RedirectResponse("/login", status_code=303)

    @ui.page("/login")
    def login(next: str | None = None) -> RedirectResponse | None:  # noqa: A002 - the query parameter's name
        if isinstance(app.storage.user.get("account_id"), int):
            return RedirectResponse(_safe_next(next) or "/", status_code=303)
        target = _safe_next(next)

        async def submit() -> None:
            if button.props.get("loading"):
                return
            button.props("loading")
            try:
                account = await io(ctx.services.authenticate, email.value, password.value)
            except DomainError as error:
                notify_error(error.message)
                password.value = ""
                return
            finally:
                button.props(remove="loading")
            app.storage.user.clear()
            app.storage.user["account_id"] = account.id  # the session holds the account id only
            ui.navigate.to(target or HOME[account.role])

        with frame(ctx, None, "Sign in"), ui.card().classes("w-full max-w-md mx-auto p-6 gap-3"):
            ui.label("Welcome to HealthSync").classes("text-lg font-medium")
            email = ui.input("Email").props('type=email autocomplete=username autofocus data-testid="email"')
            email.classes("w-full")
            password = ui.input("Password", password=True, password_toggle_button=True).props(
                'autocomplete=current-password data-testid="password"'
            )
            password.classes("w-full").on("keydown.enter", submit)
            button = ui.button("Sign in", on_click=submit).classes("w-full").props('data-testid="sign-in"')
            with ui.row().classes("w-full justify-center gap-1 text-sm"):
                ui.label("New patient?")
                ui.link("Create an account", "/register")
        return None

    @ui.page("/logout")
    def logout() -> RedirectResponse:
        app.storage.user.clear()
        return RedirectResponse("/login", status_code=303)

    @ui.page("/register")
    def register_page() -> None:
        async def submit() -> None:
            if password.value != repeat.value:
                notify_error("The two passwords do not match.")
                return
            try:
                await io(ctx.services.register_patient, name.value, email.value, password.value, birth.value or "")
                account = await io(ctx.services.authenticate, email.value, password.value)
            except DomainError as error:
                notify_error(error.message)
                return
            app.storage.user.clear()
            app.storage.user["account_id"] = account.id  # the session holds the account id only
            ui.notify("Welcome! Your account is ready.", type="positive")
            ui.navigate.to("/patient/doctors")

        with frame(ctx, None, "Create a patient account"):
            with ui.card().classes("w-full max-w-md mx-auto p-6 gap-2"):
                name = ui.input("Full name").props("autocomplete=name").classes("w-full")
                email = ui.input("Email").props("type=email autocomplete=email").classes("w-full")
                with ui.input("Date of birth").props("autocomplete=bday hint=YYYY-MM-DD").classes("w-full") as birth:
                    with ui.menu().props("no-parent-event") as menu:
                        with ui.date(mask="YYYY-MM-DD").props("default-view=Years").bind_value(birth):
                            with ui.row().classes("justify-end"):
                                ui.button("Close", on_click=menu.close).props("flat")
                    with birth.add_slot("append"):
                        ui.icon("edit_calendar").on("click", menu.open).classes("cursor-pointer")
                password = ui.input("Password (at least 8 characters)", password=True).props(
                    "autocomplete=new-password"
                )
                password.classes("w-full")
                repeat = ui.input("Repeat password", password=True).props("autocomplete=new-password").classes("w-full")
                ui.button("Create account", on_click=submit).classes("w-full")
                with ui.row().classes("w-full justify-center gap-1 text-sm"):
                    ui.label("Already registered?")
                    ui.link("Sign in", "/login")
