"""Integration fixtures: an engine on the test's database (SQLite, and Postgres when configured: `db_url`), and
the services wired to it as the app wires them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from data.db import make_engine
from data.security import Argon2Hasher, InviteTokens
from data.uow import SqlUnitOfWorkFactory
from domain.services import Services
from tests.fakes import BERLIN, INVITE_SECRET, FixedClock


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def sql_services(engine: Engine, clock: FixedClock, secret: str = INVITE_SECRET) -> Services:
    """Services on the database, with a fast password hasher and invites signed with `secret`."""
    tokens = InviteTokens(secret, timedelta(hours=72), now=clock.now)
    return Services(
        SqlUnitOfWorkFactory(engine), Argon2Hasher(fast_for_tests=True), clock, BERLIN, invite_tokens=tokens
    )
