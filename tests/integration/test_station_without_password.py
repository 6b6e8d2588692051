"""A station registered without a password cannot connect under security profile 1 or 2: csms
says so when it is registered (API, CLI) and when its handshake is refused (issue 7 finding 10)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from csms.cli import main
from tests.integration.harness import PASSWORD, running_csms, settings_for


async def test_registration_and_refusal_say_the_station_has_no_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with running_csms(settings_for(tmp_path, security_profile=1)) as server:
        async with server.api() as api:
            created = await api.post("/api/v1/stations", json={"id": "CS-NOPW"})
            assert created.status_code == 201, created.text
            (warning,) = created.json()["warnings"]
            assert "no password" in warning and "PATCH /api/v1/stations/CS-NOPW" in warning
            assert (await api.get("/api/v1/stations/CS-NOPW")).json()["warnings"] == [warning]
            with_password = await api.post(
                "/api/v1/stations", json={"id": "CS-PW", "password": PASSWORD.decode()}
            )
            assert with_password.json()["warnings"] == []
        assert any(
            r.levelno == logging.WARNING and "'CS-NOPW': no password" in r.getMessage()
            for r in caplog.records
        )
        for _ in range(3):  # the station retries; the reason is logged once a minute
            with pytest.raises(InvalidStatus) as refused:
                async with server.connect("CS-NOPW", password=None):
                    pass
            assert refused.value.response.status_code == 401
    said = [r.getMessage() for r in caplog.records if "has no password" in r.getMessage()]
    assert len(said) == 1, said
    assert "'CS-NOPW' has no password" in said[0] and "security profile 1" in said[0]


def test_csms_station_add_without_a_password_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'csms.db'}"
    assert main(["station", "add", "CS-CLI", "--database-url", url]) == 0
    captured = capsys.readouterr()
    assert "station CS-CLI added" in captured.out
    assert captured.err.startswith("warning: station CS-CLI has no password")
    assert main(["station", "add", "CS-GEN", "--generate-password", "--database-url", url]) == 0
    assert capsys.readouterr().err == ""
