"""The public names of ``csms.storage`` are deliberate (the container and CLI use them)."""

from __future__ import annotations

import csms.storage


def test_exported_names() -> None:
    assert sorted(csms.storage.__all__) == [
        "DatabaseUnavailable",
        "GroupCommitter",
        "PoolSizing",
        "SqlStationRepository",
        "SqlTransactionRepository",
        "SqlWebhookRepository",  # the container builds the events' webhook store (issue 9)
        "SqliteSynchronous",
        "Store",
        "create_engine",
        "open_store",
        "upgrade",
    ]
    for name in csms.storage.__all__:
        assert getattr(csms.storage, name).__module__.startswith("csms.storage.")
