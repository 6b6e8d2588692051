"""Logging setup, called once by the CLI; library code only ever calls ``logging.getLogger``."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

from csms.config import LogSettings

_FIELDS = ("station_id", "ocpp_version")
# Where --log-frames writes every OCPP frame (csms.server.connection logs to it).
FRAMES_LOGGER = "csms.frames"
# Libraries that set a level of their own (SQLAlchemy sets WARNING on import), so the root's
# level does not reach them.
_LIBRARY_LOGGERS = ("sqlalchemy", "websockets", "uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as JSON with the station fields when present."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(settings: LogSettings) -> None:
    """Send csms's logs to stderr, plain or JSON, at the configured level."""
    handler = logging.StreamHandler(sys.stderr)
    if settings.json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # CSMS_LOG_LEVEL is csms's own; the libraries (SQLAlchemy, aiosqlite, asyncio, websockets,
    # uvicorn, alembic) log at CSMS_LOG_LIBRARY_LEVEL, WARNING by default: at DEBUG they drown
    # csms's lines (a SQL statement per write), and websockets logs every failed handshake.
    root.setLevel(settings.library_level.upper())
    logging.getLogger("csms").setLevel(settings.level.upper())
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(settings.library_level.upper())
    # --log-frames: frames at INFO on their own logger, whatever CSMS_LOG_LEVEL says.
    logging.getLogger(FRAMES_LOGGER).setLevel(logging.INFO if settings.frames else logging.WARNING)
