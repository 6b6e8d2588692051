"""Persistence: SQLAlchemy 2 async over SQLite (default) or PostgreSQL, behind the domain ports.

Nothing above this package sees a connection: the container calls :func:`open_store` and hands
``store.stations`` / ``store.transactions`` to the blocks. Writes are group-committed (see
:mod:`csms.storage.committer`); the schema is managed by the Alembic migrations shipped here.
"""

from csms.storage import tables_charging as _tables_charging  # noqa: F401 - on the metadata
from csms.storage import tables_events as _tables_events  # noqa: F401 - events: on the metadata
from csms.storage import tables_messagelog as _tables_messagelog  # noqa: F401 - on the metadata
from csms.storage import tables_tariffs as _tables_tariffs  # noqa: F401 - on the metadata
from csms.storage.committer import GroupCommitter
from csms.storage.engine import PoolSizing, SqliteSynchronous, create_engine
from csms.storage.migrate import upgrade
from csms.storage.opening import DatabaseUnavailable
from csms.storage.repositories import SqlStationRepository, SqlTransactionRepository
from csms.storage.store import Store, open_store
from csms.storage.webhooks import SqlWebhookRepository  # events (issue 9)

__all__ = [
    "DatabaseUnavailable",
    "GroupCommitter",
    "PoolSizing",
    "SqlStationRepository",
    "SqlTransactionRepository",
    "SqlWebhookRepository",
    "SqliteSynchronous",
    "Store",
    "create_engine",
    "open_store",
    "upgrade",
]
