"""Tables of tariffs and transaction costs (2.0.1 block I), on the shared metadata.

``tariffs`` holds the price lists (decimals as text: exact on both backends),
``tariff_assignments`` one row per scope (``key``: ``token:<id>``, ``evse:<n>:<station>``,
``station:<id>`` or ``default``; see :class:`csms.domain.tariffs.Assignment`), and
``transaction_costs`` the cost csms last computed for a priced transaction, with the tariff it is
priced with (a JSON snapshot) and the total last told to the station.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from csms.storage.tables import metadata
from csms.storage.types import UtcDateTime

__all__ = ["tariff_assignments", "tariffs", "transaction_costs"]

_AMOUNT = 40  # a decimal as text

tariffs = Table(
    "tariffs",
    metadata,
    Column("tariff_id", String(64), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("price_per_kwh", String(_AMOUNT), nullable=False),
    Column("price_per_hour", String(_AMOUNT), nullable=False),
    Column("session_fee", String(_AMOUNT), nullable=False),
    Column("tax_rate", String(_AMOUNT), nullable=False),
    Column("min_cost", String(_AMOUNT)),
    Column("max_cost", String(_AMOUNT)),
    Column("descriptions", Text, nullable=False),  # JSON object: language → text
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("tariff_id"),
)

tariff_assignments = Table(
    "tariff_assignments",
    metadata,
    Column("key", String(320), nullable=False),
    Column(
        "tariff_id",
        String(64),
        ForeignKey("tariffs.tariff_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("scope", String(16), nullable=False),  # TariffScope
    Column("station_id", String(255)),
    Column("evse_id", Integer),
    Column("id_token", String(255)),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("key"),
    Index(None, "tariff_id"),
)

transaction_costs = Table(
    "transaction_costs",
    metadata,
    Column("station_id", String(255), nullable=False),
    Column("transaction_id", String(64), nullable=False),  # 1.6: the CSMS's id as text
    Column("tariff", Text, nullable=False),  # JSON snapshot of the tariff
    Column("currency", String(3), nullable=False),
    Column("energy_wh", BigInteger, nullable=False),
    Column("duration_s", BigInteger, nullable=False),
    Column("energy_cost", String(_AMOUNT), nullable=False),
    Column("time_cost", String(_AMOUNT), nullable=False),
    Column("session_fee", String(_AMOUNT), nullable=False),
    Column("tax", String(_AMOUNT), nullable=False),
    Column("total_cost", String(_AMOUNT), nullable=False),
    Column("final", Boolean, nullable=False),
    Column("sent_total", String(_AMOUNT)),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "transaction_id"),
    Index(None, "final", "updated_at"),
)
