"""Engine creation: SQLite in WAL mode with a busy timeout and serialised writers; PostgreSQL as is."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from domain.model import fold_text

SQLITE_BUSY_MS = 15_000


def make_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_MS / 1000}, **kwargs
        )
        _sqlite_pragmas(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def _sqlite_pragmas(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # SQLite's lower() folds ASCII only: searches use this Unicode- and accent-aware fold instead
        dbapi_connection.create_function("hs_fold", 1, fold_text, deterministic=True)

    # SQLite's busy handler makes a waiting writer sleep and poll, so under contention a few writers keep
    # losing and wait for seconds. Writers of this process queue on a lock first; only other processes
    # (admin commands, an import) meet the busy handler. The wait for the lock is bounded, so a connection
    # that never ends its transaction cannot stall the app (the busy timeout still serialises correctly).
    writer = threading.Lock()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # Writers take the write lock at BEGIN, so check-then-insert is serialised and never deadlocks
        # on lock upgrade; read-only work asks for a deferred transaction and runs beside writers (WAL).
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        if writer.acquire(timeout=SQLITE_BUSY_MS / 1000):
            conn.info["healthsync_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: sa.Connection) -> None:
        if conn.info.pop("healthsync_writer", False):
            writer.release()

    @sa.event.listens_for(engine, "commit")
    def _on_commit(conn: sa.Connection) -> None:
        # The event comes just before the driver's commit, which pysqlite skips once no transaction is
        # open: commit here, so the lock passes on only when the data really is committed.
        try:
            if conn.info.get("healthsync_writer"):
                conn.connection.dbapi_connection.execute("COMMIT")  # type: ignore[union-attr]
        finally:
            _release(conn)

    sa.event.listen(engine, "rollback", _release)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def ping(engine: Engine) -> None:
    """Raises when the database cannot be used. For a SQLite file that includes the file having gone: pooled
    connections would go on writing into the deleted file, where nobody will ever read it."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).is_file():
        raise FileNotFoundError("the SQLite database file is missing")
    with engine.execution_options(readonly=True).connect() as conn:
        conn.execute(sa.text("SELECT 1"))
