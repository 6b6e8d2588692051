"""Bad command-line input is refused with the option named, before anything starts."""

from __future__ import annotations

import pytest

from csms.cli import build_parser, main
from csms.simulator import command as simulator_command


@pytest.mark.parametrize("value", ["-1", "many"])
def test_serve_demo_needs_a_whole_number_of_stations(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["serve", "--demo", value])
    assert exited.value.code == 2
    assert "--demo" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["notaurl"], "ws:// or wss://"),
        (["http://127.0.0.1:9000/ocpp"], "ws:// or wss://"),
        (["ws://h/ocpp", "-n", "0"], "--count"),
        (["ws://h/ocpp", "--evses", "0"], "--evses"),
        (["ws://h/ocpp", "--meter-interval", "0"], "--meter-interval"),
        (["ws://h/ocpp", "--duration", "-1"], "--duration"),
        (["ws://h/ocpp", "--ramp", "-0.5"], "--ramp"),
        (["ws://h/ocpp", "--versions", "1.4"], "unknown OCPP version"),
    ],
)
def test_simulate_refuses_options_no_station_could_run_with(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *argv]) == 2
    assert message in capsys.readouterr().err


def test_simulate_options_that_make_sense_are_taken() -> None:
    args = build_parser().parse_args(["simulate", "ws://127.0.0.1:9000/ocpp", "-n", "3"])
    options = simulator_command.options_from(args)
    assert (options.url, options.count) == ("ws://127.0.0.1:9000/ocpp", 3)
