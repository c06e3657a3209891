"""Shared fixtures for every test layer. UI fixtures live in tests/ui/conftest.py.

Databases: `sqlite_url` and `pg_url` give a fresh, migrated database per test; `db_url` runs a test on both
(the Postgres variant is skipped unless HEALTHSYNC_TEST_POSTGRES_URL is set); `empty_db_url` is the same but
not migrated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from data.migrate import upgrade
from domain import services
from tests.pg import temporary_postgres_database

PG_ENV = "HEALTHSYNC_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(autouse=True)
def _isolated_process_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Harmless for every test: nothing a test builds from Settings() can reach a developer's database
    (a per-test SQLite file unless a fixture sets another URL), and the process-wide dummy-hash cache
    (keyed by id(), which Python reuses) starts empty."""
    monkeypatch.setenv("HEALTHSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'settings-default.db'}")
    services._DUMMY_HASH._cache.clear()
    yield
    services._DUMMY_HASH._cache.clear()


def sqlite_file_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'healthsync.db'}"


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A uniquely named, empty Postgres database for one test; dropped afterwards (open connections too)."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} not set")
    with temporary_postgres_database(base) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = sqlite_file_url(tmp_path)
    upgrade(url)
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh migrated database, once on SQLite and once on Postgres."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database without any tables, once on SQLite and once on Postgres."""
    if request.param == "sqlite":
        yield sqlite_file_url(tmp_path)
    else:
        with fresh_postgres_database() as url:
            yield url
