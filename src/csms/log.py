"""Logging setup, called once by the CLI, and :class:`LogLimiter`, which keeps a misbehaving station
or a failing database from filling the disk with log lines (one limiter per process, passed in)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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


# ---------------------------------------------------------------------------- rate limiting

# The key that stands for "many stations" once the limiter tracks ``max_keys`` keys: a hostile fleet
# of identities shares one budget per kind instead of growing the table or the log.
MANY_STATIONS = "*"
# The key of lines no station causes on its own (refused handshakes, API requests): see KindLog.
NO_STATION = ""


@dataclass(slots=True)
class _Window:
    """One key's current interval: when it started, what was logged, what was held back."""

    start: float
    logged: int = 0
    suppressed: int = 0
    last_message: str = ""


@dataclass(slots=True)
class LimiterCounters:
    """Totals since start, for operators (``csms`` exposes them per connection, see behaviour.md)."""

    logged: int = 0
    suppressed: int = 0
    tracebacks_suppressed: int = 0


class LogLimiter:
    """Rate-limits log lines per ``(station, kind)`` and tracebacks per error class.

    Within one ``interval`` a key logs its first ``burst`` lines; later ones are counted, not logged,
    and a summary line ("... repeated N times in the last S s") follows once the interval is over
    (when the key logs again, when any key logs after it expired, or on :meth:`flush`). A traceback
    is logged once per error class (the classes of its ``__cause__`` chain) per interval; the others
    become one line naming the class and how often it was seen.

    Memory is bounded: at most ``max_keys`` keys (plus one per kind for :data:`MANY_STATIONS`) are
    tracked; expired windows are dropped as they are met (windows are kept in start order). No
    global state: the container owns one limiter and hands it to the server, blocks and storage.
    """

    def __init__(
        self,
        *,
        interval: float = 60.0,
        burst: int = 5,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("need interval > 0, burst >= 1 and max_keys >= 1")
        self.interval = interval
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._loggers: dict[tuple[str, str], logging.Logger | logging.LoggerAdapter[Any]] = {}
        self.counters = LimiterCounters()

    def __len__(self) -> int:
        return len(self._windows)

    def log(
        self,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        level: int,
        station: str,
        kind: str,
        msg: str,
        *args: object,
        exc: BaseException | None = None,
    ) -> bool:
        """Log ``msg % args`` on ``logger`` unless ``(station, kind)`` is over its budget.

        ``exc``: log its traceback, at most once per error class and interval. Returns whether
        the line was logged (False: counted in a summary instead).
        """
        now = self._clock()
        self._expire(now)
        key = (station, kind)
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self.max_keys:
                key = (MANY_STATIONS, kind)
                window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = _Window(now)
        if window.logged >= self.burst:
            window.suppressed += 1
            window.last_message = msg % args if args else msg
            self._loggers[key] = logger
            self.counters.suppressed += 1
            return False
        window.logged += 1
        self.counters.logged += 1
        if exc is None:
            logger.log(level, msg, *args)
            return True
        error_class = _error_class(exc)
        trace = self._windows.get((MANY_STATIONS, "traceback " + error_class))
        if trace is None:
            self._windows[(MANY_STATIONS, "traceback " + error_class)] = _Window(now, logged=1)
            logger.log(level, msg, *args, exc_info=exc)
        else:
            trace.suppressed += 1
            self.counters.tracebacks_suppressed += 1
            logger.log(
                level,
                "%s [%s: %s; traceback logged already, seen %d times since]",
                msg % args if args else msg,
                error_class,
                _short(exc),
                trace.suppressed,
            )
        return True

    def flush(self, station: str, kinds: Iterable[str]) -> None:
        """End the windows of ``station``'s ``kinds`` now, logging their summaries (at disconnect)."""
        for kind in kinds:
            key = (station, kind)
            window = self._windows.pop(key, None)
            if window is not None:
                self._summarise(key, window, self._clock())

    def _expire(self, now: float) -> None:
        windows = self._windows
        while windows:
            key = next(iter(windows))
            window = windows[key]
            if now - window.start < self.interval:
                return
            del windows[key]
            self._summarise(key, window, now)

    def _summarise(self, key: tuple[str, str], window: _Window, now: float) -> None:
        logger = self._loggers.pop(key, None)
        if window.suppressed == 0 or logger is None:
            return
        station, kind = key
        who = {MANY_STATIONS: "many stations; ", NO_STATION: ""}.get(station, "this station; ")
        logger.log(
            logging.WARNING,
            "%s repeated %d times in the last %.0f s (%slast: %s)",
            kind,
            window.suppressed,
            max(now - window.start, 0.0),
            who,
            window.last_message,
        )


def _error_class(exc: BaseException) -> str:
    """Name the classes of ``exc`` and its causes, outermost first: what makes tracebacks alike."""
    names: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(names) < 8:
        names.append(type(seen).__qualname__)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return " <- ".join(names)


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


class KindLog:
    """A logger whose lines are rate-limited per kind through a :class:`LogLimiter`.

    For the places that log refusals with no station to key them by (the accept loop, the
    handshake throttle, the API's middlewares): ``log(level, kind, msg, *args)`` writes the first
    ``burst`` lines of a kind per ``interval``, then one "repeated N times" summary. Give
    ``limiter`` to share the process's limiter (and its memory bound); otherwise one of its own.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        scope: str = NO_STATION,
        limiter: LogLimiter | None = None,
        burst: int = 5,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._scope = scope
        self.limiter = limiter or LogLimiter(interval=interval, burst=burst, clock=clock)

    def log(
        self, level: int, kind: str, msg: str, *args: object, exc: BaseException | None = None
    ) -> bool:
        """Log ``msg % args`` unless ``kind`` is over its budget; True if it was written.

        ``exc``: its traceback, at most once per error class and interval (see LogLimiter).
        """
        return self.limiter.log(self._logger, level, self._scope, kind, msg, *args, exc=exc)

    def info(self, msg: str, *args: object) -> bool:
        """``log(INFO, msg, ...)`` with the message template as its kind."""
        return self.log(logging.INFO, msg, msg, *args)

    def warning(self, msg: str, *args: object) -> bool:
        """``log(WARNING, msg, ...)`` with the message template as its kind."""
        return self.log(logging.WARNING, msg, msg, *args)
