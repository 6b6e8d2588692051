"""Table of the OCPP message log (:mod:`csms.domain.messagelog`), on the shared metadata.

One row per exchange: a CALL with its answer (request and response frames, latency, outcome), or
a frame outside any exchange. Append-only, newest rows have the highest id; bounded by the pruner
(age, rows, bytes). No foreign key to ``stations``: an entry outlives a station's deletion until
it ages out, and a batch never fails because a station was deleted while its frames were queued.
"""

from __future__ import annotations

from sqlalchemy import Column, Double, Integer, String, Table, Text

from csms.storage.tables import _id, metadata

__all__ = ["ocpp_messages"]

ocpp_messages = Table(
    "ocpp_messages",
    metadata,
    _id(),
    Column("station_id", String(255), nullable=False),
    # The first frame's UNIX time in seconds: written as it is measured, no conversion per frame.
    Column("at", Double, nullable=False),
    Column("direction", String(3), nullable=False),  # of the first frame: in / out
    Column("message_type", String(16), nullable=False),  # CALL, SEND, or a lone ... INVALID
    Column("message_id", Text),  # as the frame carried it (a bad frame's may be long)
    Column("action", Text),  # a station may send any action name
    Column("size", Integer, nullable=False),
    Column("frame", Text),  # the first frame as sent, secrets masked
    # The answer (NULL: a SEND, a lone frame, or a CALL left unanswered).
    Column("response_type", String(16)),  # CALLRESULT, CALLERROR, CALLRESULTERROR
    Column("latency_ms", Double),
    Column("error_code", Text),  # the answer's, or a lone CALLERROR's
    Column("response_size", Integer),
    Column("response_frame", Text),  # secrets masked
    # No secondary index: rows arrive in time order but from every station at once, so an index
    # on the station would be written at a random place per frame (measured: it doubled the log's
    # cost). Searches walk the ids from the newest; a time window becomes an id range first
    # (ids grow with time), see csms.storage.messagelog.
)
