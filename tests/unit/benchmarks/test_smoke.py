"""Smoke tests of the load benchmark in ``benchmarks/``.

* The frames the load generator sends validate against the official OCA JSON schemas shipped in
  the ``ocpp`` wheel.
* A ``--quick`` run of the harness against the reference and the echo server completes with
  calls in every mix and no errors.
* A csms command that cannot start is reported clearly and fails the run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import ocpp

REPO_ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = Path(ocpp.__file__).resolve().parent


def _loadgen() -> ModuleType:
    """Load ``benchmarks/loadgen.py`` by path (independent of sys.path and the test layout)."""
    name = "csms_benchmarks_loadgen"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "benchmarks" / "loadgen.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up in sys.modules
    spec.loader.exec_module(module)
    return module


def _validate(payload: dict[str, Any], schema_path: Path) -> None:
    schema = json.loads(schema_path.read_text(encoding="utf-8-sig"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator_class(schema).validate(payload)


def _schema_for(subprotocol: str, action: str) -> Path:
    if subprotocol == "ocpp1.6":
        return SCHEMAS / "v16" / "schemas" / f"{action}.json"
    return SCHEMAS / "v201" / "schemas" / f"{action}Request.json"


def _assert_timestamps(value: Any) -> None:
    """Every ``timestamp`` in the payload parses as an ISO 8601 UTC date-time."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "timestamp":
                assert item.endswith("Z")
                datetime.fromisoformat(item)
            _assert_timestamps(item)
    elif isinstance(value, list):
        for item in value:
            _assert_timestamps(item)


def test_payloads_validate_against_official_schemas() -> None:
    loadgen = _loadgen()
    now = loadgen.utc_timestamp()
    _validate(
        loadgen.meter_values_16(100001, 12345.6, now), SCHEMAS / "v16/schemas/MeterValues.json"
    )
    _validate(
        loadgen.transaction_event_updated_201("tx-1", 7, 12345.6, now),
        SCHEMAS / "v201/schemas/TransactionEventRequest.json",
    )
    sampled = loadgen.meter_values_16(1, 1.0, now)["meterValue"][0]["sampledValue"]
    assert [s["measurand"] for s in sampled] == [
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Current.Import",
        "Current.Import",
    ]
    assert [s.get("phase") for s in sampled[2:]] == ["L1", "L2", "L3"]

    # Every frame each mix really sends: boot, setup and the measured CALLs.
    for mix in loadgen.MIXES:
        script = loadgen.StationScript(mix, "bsmoke-000001", 1)
        frames = [script.boot_frame(), *script.setup_frames()]
        frames += [script.next_frame() for _ in range(3)]
        for msg_id, text in frames:
            message = json.loads(text)
            assert message[:2] == [2, msg_id]
            _validate(message[3], _schema_for(script.subprotocol, message[2]))
            _assert_timestamps(message[3])


def test_charging_session_uses_the_transaction_id_it_was_given() -> None:
    loadgen = _loadgen()
    script = loadgen.StationScript(loadgen.MIX_CHARGINGSESSION16, "bsmoke-000003", 3)
    sent = []
    for _ in range(2 * (loadgen.SESSION_METER_VALUES + 3)):
        msg_id, text = script.next_frame()
        message = json.loads(text)
        sent.append(message)
        if message[2] == "StartTransaction":
            script.observe(
                [3, msg_id, {"transactionId": 4711, "idTagInfo": {"status": "Accepted"}}]
            )
        else:
            script.observe([3, msg_id, {}])
    actions = [m[2] for m in sent]
    session = ["Authorize", "StartTransaction"] + ["MeterValues"] * 10 + ["StopTransaction"]
    assert actions == session * 2
    assert {m[3]["transactionId"] for m in sent if m[2] in ("MeterValues", "StopTransaction")} == {
        4711
    }
    assert sent[0][3]["idTag"] == sent[1][3]["idTag"]


def test_meter_values_name_the_transaction_the_csms_started() -> None:
    loadgen = _loadgen()
    script = loadgen.StationScript(loadgen.MIX_METERVALUES16, "bsmoke-000004", 4)
    [(msg_id, start)] = script.setup_frames()
    assert json.loads(start)[2] == "StartTransaction"
    script.observe([3, msg_id, {"transactionId": 99, "idTagInfo": {"status": "Accepted"}}])
    sent = [json.loads(script.next_frame()[1]) for _ in range(3)]
    assert {(m[2], m[3]["transactionId"]) for m in sent} == {("MeterValues", 99)}


def test_transaction_event_seq_no_increases() -> None:
    loadgen = _loadgen()
    script = loadgen.StationScript(loadgen.MIX_TRANSACTIONEVENT201, "bsmoke-000002", 2)
    (_, started), *_ = script.setup_frames()
    started_payload = json.loads(started)[3]
    assert (started_payload["eventType"], started_payload["seqNo"]) == ("Started", 0)
    updates = [json.loads(script.next_frame()[1])[3] for _ in range(4)]
    assert [u["seqNo"] for u in updates] == [1, 2, 3, 4]
    assert {u["eventType"] for u in updates} == {"Updated"}
    assert {u["triggerReason"] for u in updates} == {"MeterValuePeriodic"}
    assert {u["transactionInfo"]["transactionId"] for u in updates} == {
        started_payload["transactionInfo"]["transactionId"]
    }
    assert all(len(u["meterValue"][0]["sampledValue"]) == 5 for u in updates)


def _run_harness(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "run.py"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_quick_run_against_reference_and_echo(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    markdown = tmp_path / "bench.md"
    done = _run_harness(
        "--quick",
        "--servers",
        "reference,echo",
        "--json",
        str(out),
        "--markdown",
        str(markdown),
        timeout=90,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    for name in ("reference", "echo"):
        server = report["servers"][name]
        assert server["ok"], server["error"]
        assert set(server["mixes"]) == {
            "heartbeat16",
            "metervalues16",
            "transactionevent201",
            "chargingsession16",
        }
        for mix, figures in server["mixes"].items():
            assert figures["calls"] > 0, (name, mix)
            assert figures["errors_total"] == 0, (name, mix, figures["errors"])
            assert figures["stations_ready"] == figures["stations"]
            assert figures["server_cpu_us_per_call"] > 0
        idle = server["idle"]
        assert idle["connections_ok"] == idle["connections_requested"]
        assert idle["errors_total"] == 0
    ratios = report["ratios"]["reference_vs_echo"]
    assert all(r["calls_per_s"] is not None for r in ratios.values())
    assert "### Throughput and server CPU per call" in markdown.read_text(encoding="utf-8")


def test_csms_that_cannot_start_fails_clearly(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = _run_harness(
        "--quick",
        "--servers",
        "csms",
        "--csms-cmd",
        "{python} -c 'import sys; sys.exit(3)'",
        "--json",
        str(out),
        timeout=60,
    )
    assert done.returncode == 1
    csms = json.loads(out.read_text(encoding="utf-8"))["servers"]["csms"]
    assert not csms["ok"]
    assert "exited with status 3" in csms["error"]
    assert "csms FAILED" in done.stdout
