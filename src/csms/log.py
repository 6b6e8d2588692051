"""Logging setup, called once by the CLI; library code only ever calls ``logging.getLogger``."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson

from csms.config import LogSettings

_FIELDS = ("station_id", "ocpp_version")


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
    root.setLevel(settings.level.upper())
    # websockets logs every failed handshake at INFO and tracebacks of bad clients at ERROR; ours
    # are more useful, so keep its chatter at WARNING.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
