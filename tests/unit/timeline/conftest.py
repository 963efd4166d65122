"""Timeline stores on both databases: SQLite and the real PostgreSQL of this machine.

Every PostgreSQL store lives in its own schema, dropped after the test. If the server is
down, it is started with the machine's own command; a server that cannot be started fails
the tests (they are never skipped).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from hub.timeline.config import ProcessesConfig
from hub.timeline.store import TimelineStore

PG_URL = os.environ.get("HUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"

StoreFactory = Callable[[], TimelineStore]


def _pg_up() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def ensure_postgres() -> None:
    if _pg_up():
        return
    subprocess.run(PG_START, shell=True, check=False, timeout=60)  # noqa: S602
    for _ in range(30):
        if _pg_up():
            return
        time.sleep(1)
    pytest.fail(f"PostgreSQL at {PG_URL} is down and '{PG_START}' did not start it")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Makes fresh, migrated, empty stores on the parametrised database."""
    made: list[tuple[TimelineStore, str | None]] = []

    def make(processes: ProcessesConfig | None = None) -> TimelineStore:
        processes = processes or ProcessesConfig()
        if request.param == "sqlite":
            store = TimelineStore(f"sqlite:///{tmp_path}/tl-{len(made)}.db", processes)
            schema = None
        else:
            schema = f"tl_test_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            store = TimelineStore(PG_URL, processes, schema=schema)
        made.append((store, schema))
        store.migrate()
        return store

    if request.param == "postgresql":
        ensure_postgres()
    yield make
    for store, schema in made:
        store.dispose()
        if schema:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(store_factory: StoreFactory) -> TimelineStore:
    return store_factory()
