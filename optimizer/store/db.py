"""Opening a store: the URL, the engine, migrations, transactions and what a store that has
gone away looks like to the user."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from optimizer.errors import InputError, Problem
from optimizer.store.models import Meta

DEFAULT_PATH = Path("data") / "plans.db"
ENV_STORE = "OPTIMIZER_STORE"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

T = TypeVar("T")


class StoreError(InputError):
    """The store cannot be used (unreachable, gone, not a store): one clear message."""

    def __init__(self, where: str, message: str):
        super().__init__([Problem(where, message)])


def resolve_url(url: str | None = None) -> str:
    """The store's URL: `url`, else $OPTIMIZER_STORE, else SQLite in ./data/plans.db."""
    url = url or os.environ.get(ENV_STORE) or ""
    if not url:
        return f"sqlite:///{DEFAULT_PATH}"
    if "://" not in url:  # a bare path is an SQLite file
        return f"sqlite:///{url}"
    if url.startswith("postgresql://"):  # psycopg 3 is the driver this package installs
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _rec) -> None:  # noqa: ANN001
        # the driver's own transaction handling is off so that BEGIN IMMEDIATE below takes
        # the write lock at the start: two writers queue instead of failing half-way
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA busy_timeout = 30000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # noqa: ANN001
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class Store:
    """An open store: its URL (password hidden when shown), engine and session factory."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    sqlite_file: Path | None = None

    @property
    def label(self) -> str:
        """The URL as it may be shown (no password)."""
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def is_postgres(self) -> bool:
        """Whether this is a PostgreSQL server (team store by default)."""
        return self.engine.dialect.name == "postgresql"

    def check_alive(self) -> None:
        """Raise StoreError when an SQLite store's file has been removed since it was opened."""
        if self.sqlite_file is not None and not self.sqlite_file.exists():
            raise StoreError(self.label, f"the store file {self.sqlite_file} is gone (moved or "
                             "deleted); nothing was saved. Restore the file or choose "
                             "another store with --store.")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed at the end, rolled back on any error."""
        self.check_alive()
        try:
            with self.sessions.begin() as session:
                yield session
        except (OperationalError, DBAPIError) as e:
            if isinstance(e, IntegrityError):
                raise
            raise unavailable(self.label, e) from None

    def run(self, fn: Callable[[Session], T], retries: int = 8) -> T:
        """`fn(session)` in a transaction, retried when a concurrent writer won a race.

        A unique key taken in between (the next version number, the plan of record of a
        period) shows as IntegrityError; the whole transaction is then run again.
        """
        for attempt in range(retries):
            try:
                with self.transaction() as session:
                    return fn(session)
            except IntegrityError:
                if attempt == retries - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def unavailable(label: str, e: Exception) -> StoreError:
    """The message for a store that cannot be reached or read."""
    detail = str(getattr(e, "orig", e)).strip().splitlines()[0] if str(e).strip() else ""
    return StoreError(label, f"cannot use the store ({detail}). Check that the server is "
                      "running or the file is there, and the URL (--store or "
                      f"{ENV_STORE}); nothing was changed.")


def head_revision() -> str:
    """The newest schema revision this version of the package knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _alembic_config(connection) -> object:  # noqa: ANN001
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to `revision` (a new store is created from empty)."""
    from alembic import command

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # two processes opening a new server store at once: one creates, one waits
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(72011)")
        command.upgrade(_alembic_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision a store is at (None: empty)."""
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and on first use create) the store at `url` (see `resolve_url`).

    The schema is brought to the newest revision; a store written by a newer version of
    the package is refused rather than touched.
    """
    url = resolve_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError("--store", f"'{url}' is not a database URL; expected e.g. "
                         "sqlite:///data/plans.db or postgresql://user@host/db") from None
    label = parsed.render_as_string(hide_password=True)
    sqlite_file = None
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StoreError("--store", "an SQLite store needs a file, e.g. "
                             "sqlite:///data/plans.db")
        sqlite_file = Path(parsed.database).resolve()
        try:
            sqlite_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(label, f"cannot create the folder {sqlite_file.parent} "
                             f"({e.strerror})") from None
        kwargs["connect_args"] = {"timeout": 30}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": 10}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except Exception as e:  # noqa: BLE001 - e.g. an unknown driver name
        raise StoreError("--store", f"cannot use '{label}': {e}") from None
    if sqlite_file is not None:
        _sqlite_events(engine)
    store = Store(url, engine, sessionmaker(engine, expire_on_commit=False), sqlite_file)
    try:
        rev = current_revision(engine)
        head = head_revision()
        if rev is not None and rev != head and rev not in _known_revisions():
            raise StoreError(label, f"the store is at schema revision {rev}, newer than "
                             f"this version of the optimizer knows ({head}); upgrade the "
                             "optimizer")
        if upgrade and rev != head:
            migrate(engine)
    except (OperationalError, DBAPIError) as e:
        engine.dispose()
        raise unavailable(label, e) from None
    return store


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def get_meta(session: Session, key: str, default: str | None = None) -> str | None:
    """A store-wide setting."""
    value = session.scalar(select(Meta.value).where(Meta.key == key))
    return default if value is None else value


def set_meta(session: Session, key: str, value: str) -> None:
    """Set a store-wide setting."""
    row = session.get(Meta, key)
    if row is None:
        session.add(Meta(key=key, value=value))
    else:
        row.value = value
