"""Tables of the typed operator commands (issue 9): command jobs and the desired configuration.

``command_jobs`` holds one row per job, its per-station results as one JSON document (written when
the job starts and when it ends: a job is a few writes, not one per station). ``desired_settings``
holds the last value an operator set per (station, key or variable) and the station's answer; what
the station reported stays in ``station_configuration`` (1.6) and ``device_model_attributes`` (2.x).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, PrimaryKeyConstraint, String, Table, Text

from csms.storage.tables import _station_id, metadata
from csms.storage.types import UtcDateTime

__all__ = ["command_jobs", "desired_settings"]

command_jobs = Table(
    "command_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("intent", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("params", JSON, nullable=False),
    Column("stations", JSON, nullable=False),  # the station ids
    Column("results", JSON, nullable=False),  # per-station results
    Column("station_count", Integer, nullable=False),
    Column("error", Text),
    Column("created_by", String(255)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Index("ix_command_jobs_created", "created_at", "id"),
    Index("ix_command_jobs_state", "state"),
)

desired_settings = Table(
    "desired_settings",
    metadata,
    _station_id(),
    Column("kind", String(16), nullable=False),  # key (1.6) | variable (2.x)
    Column("name", String(1024), nullable=False),
    Column("value", Text, nullable=False),
    Column("status", String(32)),  # the station's answer; None: no answer
    Column("sent_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("station_id", "kind", "name"),
)
