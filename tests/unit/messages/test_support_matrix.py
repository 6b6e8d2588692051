"""scripts/support_matrix.py renders every catalog action and keeps docs/support-matrix.md fresh."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from csms.container import handled_actions
from csms.messages import actions
from csms.rpc import OcppVersion

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "support_matrix.py"


@pytest.fixture(scope="module")
def matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("support_matrix", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _row(text: str, action: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {action} |"))


def test_every_action_has_a_row(matrix: ModuleType) -> None:
    text = matrix.render()
    names = {name for version in OcppVersion for name in actions(version)}
    for name in names:
        assert _row(text, name)
    assert _row(text, "Heartbeat") == "| Heartbeat | CS→CSMS | CS→CSMS | CS→CSMS | CS→CSMS | — |"
    # 1.5J: the operations of the 1.5 WSDLs (GetConfiguration is CSMS→CS, as in 1.6).
    assert _row(text, "GetConfiguration").startswith(
        "| GetConfiguration | CSMS→CS | — | — | CSMS→CS"
    )
    assert _row(text, "TriggerMessage").startswith(
        "| TriggerMessage | CSMS→CS | CSMS→CS | CSMS→CS | — |"
    )
    assert _row(text, "SignCertificate").startswith("| SignCertificate | CS→CSMS (sec) |")
    assert "| NotifyPeriodicEventStream | — | — | CS→CSMS (SEND) |" in text
    assert _row(text, "DataTransfer").startswith("| DataTransfer | both | both | both |")


def test_handled_column_comes_from_the_mapping(matrix: ModuleType) -> None:
    handled = matrix.as_mapping(
        [(OcppVersion.V16, "Heartbeat"), (OcppVersion.V201, "Heartbeat"), ("2.1", "Reset")]
    )
    text = matrix.render(handled)
    assert _row(text, "Heartbeat").endswith("| 1.6, 2.0.1, 1.5J |")
    assert _row(text, "Reset").endswith("| 2.1 |")
    assert _row(text, "BootNotification").endswith("| no |")
    assert "| 1.6 | 39 | 13 | 25 | 1 | 1 |" in text
    assert "| 1.5J | 24 | 9 | 14 | 1 | 1 |" in text
    as_dict = matrix.as_mapping({(OcppVersion.V16, "Heartbeat"): True, ("1.6", "Reset"): False})
    assert as_dict == {(OcppVersion.V16, "Heartbeat"): True, (OcppVersion.V16, "Reset"): False}


def test_missing_hook_gives_none(matrix: ModuleType) -> None:
    assert matrix.discover_handled("csms_no_such_module:handled_actions") is None
    assert matrix.discover_handled("csms.messages:no_such_function") is None


def test_hook_is_called(matrix: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = ModuleType("fake_routing_hook")
    fake.handled_actions = lambda: [(OcppVersion.V21, "Heartbeat")]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_routing_hook", fake)
    handled = matrix.discover_handled("fake_routing_hook:handled_actions")
    assert handled == {(OcppVersion.V21, "Heartbeat"): True}


def test_generated_doc_is_up_to_date(matrix: ModuleType) -> None:
    expected = matrix.render(matrix.discover_handled())
    assert matrix.DOC_PATH.read_text(encoding="utf-8") == expected, (
        "run: python scripts/support_matrix.py --write"
    )


def test_every_16_action_is_handled_or_sent_by_a_command() -> None:
    """Issue 4: all six 1.6 feature profiles and the security extension, both directions."""
    handled = {action for version, action in handled_actions() if version is OcppVersion.V16}
    assert set(actions(OcppVersion.V16)) - handled == set()


def test_soap_operations_have_their_own_table(matrix: ModuleType) -> None:
    """Issue 12: each operation of the 1.5 and 1.6 WSDLs, by direction, handled per version."""
    text = matrix.render(matrix.discover_handled())
    soap = text.split("## OCPP over SOAP", 1)[1]
    assert _row(soap, "Heartbeat") == "| Heartbeat | CS→CSMS | CS→CSMS | 1.5s, 1.6s |"
    assert _row(soap, "DataTransfer") == "| DataTransfer | both | both | 1.5s, 1.6s |"
    assert _row(soap, "TriggerMessage") == "| TriggerMessage | — | CSMS→CS | 1.6s |"
    assert _row(soap, "UnlockConnector").endswith("| 1.5s, 1.6s |")
    assert "| no |" not in soap  # every SOAP operation is handled or sent
