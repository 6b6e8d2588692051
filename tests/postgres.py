"""A real, throwaway PostgreSQL server for tests marked ``postgres``.

The session-scoped :func:`postgres_server` fixture finds the server binaries (``/usr/lib/postgresql/
*/bin``, then ``PATH``), installs Debian's ``postgresql`` package when they are missing and we are
root (CI is a fresh Debian machine), and runs ``initdb`` + ``pg_ctl`` in a temporary directory:
listening on 127.0.0.1 only, on a free port, trust authentication, no Unix socket. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` OS user. Durability settings
are off (fsync, full-page writes): the cluster is deleted at the end of the session anyway.

Each test gets its own database from :meth:`PostgresServer.database`, so tests never share rows.
The :func:`database_url` fixture runs a test once on a SQLite file and once on PostgreSQL;
:func:`migrated_database_url` does the same with databases copied from ones migrated to head.
``tests/conftest.py`` registers this module as a pytest plugin.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest

from csms.storage.migrate import upgrade
from tests.system_packages import apt_get_install, install_lock
from tests.templates import copy_sqlite_template, run_in_own_loop

__all__ = [
    "DATABASES",
    "PostgresServer",
    "database_url",
    "find_bindir",
    "migrated_database",
    "migrated_database_url",
    "postgres_server",
    "postgres_template",
    "running_postgres",
]

_SUPERUSER = "postgres"
_START_ATTEMPTS = 3
_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class PostgresServer:
    """Where the throwaway server listens; every database on it is disposable."""

    host: str
    port: int
    user: str = _SUPERUSER

    def url(self, database: str, *, driver: str = "asyncpg") -> str:
        """Return the SQLAlchemy URL of ``database`` (``postgresql+<driver>://...``)."""
        return f"postgresql+{driver}://{self.user}@{self.host}:{self.port}/{database}"

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self.host, port=self.port, user=self.user, database="postgres"
        )

    async def create_database(self, *, template: str | None = None) -> str:
        """Create a database with a unique name and return its name: empty, or a copy of
        ``template`` (which must have no open connection)."""
        name = f"test_{uuid.uuid4().hex}"
        conn = await self._admin()
        try:
            suffix = "" if template is None else f' TEMPLATE "{template}"'
            await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        finally:
            await conn.close()
        return name

    async def drop_database(self, name: str) -> None:
        """Drop ``name``, closing any connection still open on it."""
        conn = await self._admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    @contextlib.asynccontextmanager
    async def database(self, *, template: str | None = None) -> AsyncIterator[str]:
        """Yield the SQLAlchemy URL of a fresh database (a copy of ``template`` if given), dropped
        on exit."""
        name = await self.create_database(template=template)
        try:
            yield self.url(name)
        finally:
            await self.drop_database(name)


def find_bindir() -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl`` (newest version first), or None."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    initdb = shutil.which("initdb")
    if initdb is not None and shutil.which("pg_ctl") is not None:
        return Path(initdb).resolve().parent
    return None


def _install() -> Path:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' "
            "package to run the tests marked 'postgres'"
        )
    with install_lock():  # another test process may be installing it right now
        if find_bindir() is None:
            apt_get_install("postgresql")
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("apt-get installed postgresql but initdb/pg_ctl are still not found")
    return bindir


def _os_user() -> pwd.struct_passwd | None:
    """Return the unprivileged user to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"],
            check=True,
        )
        return pwd.getpwnam("postgres")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Cluster:
    """One data directory and the commands that act on it, run as the unprivileged user."""

    def __init__(self, bindir: Path, root: Path, user: pwd.struct_passwd | None) -> None:
        self.bindir = bindir
        self.data = root / "data"
        self.log = root / "server.log"
        self.user = user

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        user = self.user
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            cwd=self.data.parent,
            check=False,
            user=None if user is None else user.pw_name,
            group=None if user is None else grp.getgrgid(user.pw_gid).gr_name,
            extra_groups=None if user is None else [],
        )

    def initdb(self) -> None:
        result = self.run(
            "initdb", "-D", str(self.data), "-U", _SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def start(
        self,
        port: int,
        *,
        durable: bool = False,
        max_connections: int = 100,
        statements: bool = False,
    ) -> bool:
        options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories=''"
        options += f" -c max_connections={max_connections}"
        if statements:
            options += " -c shared_preload_libraries=pg_stat_statements"
        if not durable:
            options += " -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
        result = self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
            "-w", "-t", str(_TIMEOUT_S), "start",
        )  # fmt: skip
        return result.returncode == 0

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-4000:]
        return ""


@contextlib.contextmanager
def running_postgres(
    *, durable: bool = False, max_connections: int = 100, statements: bool = False
) -> Iterator[PostgresServer]:
    """Start a throwaway server, yield where it listens, then stop it and delete its files.

    ``durable`` keeps PostgreSQL's default fsync and synchronous commit (benchmarks); tests run
    without them. ``max_connections`` (PostgreSQL's default 100) is raised by the cluster
    benchmark: each csms worker pools up to 15 connections. ``statements`` loads
    pg_stat_statements (the cluster benchmark counts statements per second).
    """
    bindir = find_bindir() or _install()
    user = _os_user()
    root = Path(tempfile.mkdtemp(prefix="csms-pg-"))
    try:
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        cluster = _Cluster(bindir, root, user)
        cluster.initdb()
        for _ in range(_START_ATTEMPTS):  # another process may grab the free port first
            port = _free_port()
            if cluster.start(
                port, durable=durable, max_connections=max_connections, statements=statements
            ):
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start:\n{cluster.log_tail()}")
        try:
            yield PostgresServer(host="127.0.0.1", port=port)
        finally:
            cluster.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Yield a PostgreSQL server shared by the session (started on first use)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """The name of a database on :func:`postgres_server` migrated to head once per session, the
    template of :func:`migrated_database_url` (CREATE DATABASE ... TEMPLATE copies it in about a
    tenth of the time migrating an empty database takes)."""
    name = "csms_template"

    async def create() -> None:
        conn = await postgres_server._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        await upgrade(postgres_server.url(name))  # closes its connections: usable as a template

    run_in_own_loop(create())
    return name


DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The SQLAlchemy URL of an empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'db' / 'csms.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    async with server.database() as url:
        yield url


@contextlib.asynccontextmanager
async def migrated_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The body of a fixture parametrised by :data:`DATABASES`: the URL of a database migrated
    to head (tests/templates.py), a SQLite file or a PostgreSQL database (dropped on exit)."""
    if request.param == "sqlite":
        path = tmp_path / "db" / "csms.db"
        path.parent.mkdir(exist_ok=True)
        copy_sqlite_template(path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("postgres_template")
    async with server.database(template=template) as url:
        yield url


@pytest.fixture(params=DATABASES)
async def migrated_database_url(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[str]:
    """Like :func:`database_url`, but already migrated to head: for tests that start csms or
    open a store, which would migrate it to head anyway."""
    async with migrated_database(request, tmp_path) as url:
        yield url
