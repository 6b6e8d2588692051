"""CSMS_LOG_LEVEL is csms's, CSMS_LOG_LIBRARY_LEVEL the libraries', --log-frames its own logger
at INFO (issue 7 finding 10)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from csms.config import LogSettings, SettingsError, load_settings
from csms.log import configure_logging

_TOUCHED = (
    "",
    "csms",
    "csms.frames",
    "sqlalchemy",
    "websockets",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(name or None) for name in _TOUCHED]
    saved = [(lg, lg.level, list(lg.handlers)) for lg in loggers]
    try:
        yield
    finally:
        for lg, level, handlers in saved:
            lg.setLevel(level)
            lg.handlers[:] = handlers


@pytest.mark.usefixtures("restore_logging")
def test_debug_for_csms_leaves_the_libraries_at_warning() -> None:
    configure_logging(LogSettings(level="DEBUG"))
    assert logging.getLogger("csms.server.connection").isEnabledFor(logging.DEBUG)
    for library in ("sqlalchemy.engine.Engine", "aiosqlite", "asyncio", "websockets.server"):
        assert not logging.getLogger(library).isEnabledFor(logging.INFO), library
    assert logging.getLogger("alembic.runtime.migration").isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("restore_logging")
def test_frames_are_logged_whatever_the_level() -> None:
    configure_logging(LogSettings(level="WARNING", frames=True))
    assert logging.getLogger("csms.frames").isEnabledFor(logging.INFO)
    assert not logging.getLogger("csms.server").isEnabledFor(logging.INFO)
    configure_logging(LogSettings(level="DEBUG", frames=False))
    assert not logging.getLogger("csms.frames").isEnabledFor(logging.INFO)


@pytest.mark.usefixtures("restore_logging")
def test_the_library_level_is_a_setting_of_its_own() -> None:
    settings = load_settings({"CSMS_LOG_LIBRARY_LEVEL": "info"})
    configure_logging(settings.log)
    assert logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)
    with pytest.raises(SettingsError, match=r"CSMS_LOG_LIBRARY_LEVEL \(--log-library-level\)"):
        load_settings({"CSMS_LOG_LIBRARY_LEVEL": "chatty"})
    with pytest.raises(SettingsError, match=r"CSMS_LOG_LEVEL \(--log-level\)"):
        load_settings({"CSMS_LOG_LEVEL": "LOUD"})
