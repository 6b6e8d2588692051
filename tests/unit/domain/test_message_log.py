"""The message log's pure part: secrets masked whatever the action, results paired with CALLs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from csms.domain.commands import MASKED
from csms.domain.messagelog import MAX_PENDING, StationFrames, frame_payload, mask_secrets
from csms.domain.metrics import MAX_SERIES, OTHER, Histogram, ServerStats

AT = datetime(2026, 12, 6, tzinfo=UTC).timestamp()


def _frames(**kwargs: Any) -> StationFrames:
    options: dict[str, Any] = {"keep_payloads": True, "max_payload": 65536, **kwargs}
    return StationFrames("CS1", **options)


def test_1_6_authorization_key_is_masked_in_requests_and_results() -> None:
    change = {"key": "authorizationKey", "value": "s3cret-s3cret-s3cret"}
    assert mask_secrets(change) == {"key": "authorizationKey", "value": MASKED}
    result = {
        "configurationKey": [
            {"key": "AuthorizationKey", "readonly": False, "value": "s3cret"},
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        ]
    }
    masked = mask_secrets(result)
    assert masked["configurationKey"][0]["value"] == MASKED
    assert masked["configurationKey"][1]["value"] == "300"


def test_2x_basic_auth_password_is_masked_everywhere() -> None:
    variable = {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}
    assert mask_secrets({"setVariableData": [{**variable, "attributeValue": "pw"}]}) == {
        "setVariableData": [{**variable, "attributeValue": MASKED}]
    }
    report = {
        "reportData": [{**variable, "variableAttribute": [{"value": "pw", "type": "Actual"}]}]
    }
    masked = mask_secrets(report)
    assert masked["reportData"][0]["variableAttribute"] == [{"value": MASKED, "type": "Actual"}]
    profile = {
        "configurationSlot": 1,
        "connectionData": {"basicAuthPassword": "pw", "apn": {"apnPassword": "x", "apn": "a"}},
    }
    masked = mask_secrets(profile)
    assert masked["connectionData"]["basicAuthPassword"] == MASKED
    assert masked["connectionData"]["apn"] == {"apnPassword": MASKED, "apn": "a"}
    untouched = {"idTag": "ABC", "meterValue": [{"sampledValue": [{"value": "1"}]}]}
    assert mask_secrets(untouched) == untouched


def test_results_are_paired_with_their_call_in_either_direction() -> None:
    frames = _frames()
    call = frames.describe("in", '[2,"1","Heartbeat",{}]', 10.0, AT)
    assert (call.message_type, call.action, call.latency_ms) == ("CALL", "Heartbeat", None)
    result = frames.describe("out", b'[3,"1",{"currentTime":"x"}]', 10.0125, AT)
    assert (result.message_type, result.action, result.latency_ms) == (
        "CALLRESULT",
        "Heartbeat",
        12.5,
    )
    assert result.size == len(b'[3,"1",{"currentTime":"x"}]')
    ours = frames.describe("out", '[2,"a","Reset",{"type":"Hard"}]', 20.0, AT)
    assert ours.action == "Reset"
    error = frames.describe("in", '[4,"a","NotSupported","no",{}]', 20.5, AT)
    assert (error.message_type, error.action, error.error_code) == (
        "CALLERROR",
        "Reset",
        "NotSupported",
    )
    assert error.latency_ms == 500.0
    assert frame_payload(error.frame or "") == {
        "errorCode": "NotSupported",
        "errorDescription": "no",
        "errorDetails": {},
    }
    assert frame_payload(call.frame or "") == {}
    assert frame_payload(result.frame or "") == {"currentTime": "x"}
    stray = frames.describe("in", '[3,"zzz",{}]', 21.0, AT)
    assert stray.action is None and stray.latency_ms is None


def test_pending_calls_are_bounded() -> None:
    frames = _frames()
    for n in range(MAX_PENDING + 10):
        frames.describe("out", f'[2,"{n}","Reset",{{}}]', 0.0, AT)
    assert frames.describe("in", '[3,"0",{}]', 1.0, AT).action is None  # forgotten
    assert frames.describe("in", f'[3,"{MAX_PENDING + 9}",{{}}]', 1.0, AT).action == "Reset"


def test_unreadable_frames_and_payload_settings() -> None:
    frames = _frames()
    bad = frames.describe("in", "not json", 0.0, AT)
    assert (bad.message_type, bad.frame) == ("INVALID", "not json")
    assert frame_payload("not json") == "not json"
    secret = frames.describe("in", '{"password": "x"', 0.0, AT)
    assert secret.message_type == "INVALID" and secret.frame is None
    assert (
        _frames(keep_payloads=False).describe("in", '[2,"1","Heartbeat",{}]', 0, AT).frame is None
    )
    big = '[2,"1","DataTransfer",{"vendorId":"v","data":"' + "x" * 100 + '"}]'
    kept = _frames(max_payload=50).describe("in", big, 0.0, AT)
    assert kept.frame is None and kept.action == "DataTransfer" and kept.size == len(big)


def test_secrets_are_masked_in_the_stored_frame_whatever_its_spelling() -> None:
    frames = _frames()
    change = '[2,"r1","ChangeConfiguration",{"key":"AuthorizationKey","value":"hunter2-hunter2"}]'
    stored = frames.describe("out", change, 0.0, AT)
    assert stored.action == "ChangeConfiguration"
    assert "hunter2" not in (stored.frame or "")
    assert frame_payload(stored.frame or "") == {"key": "AuthorizationKey", "value": MASKED}
    shouting = '[2, "r2" ,"SetNetworkProfile",{"connectionData":{"BASICAUTHPASSWORD":"hunter2"}}]'
    assert "hunter2" not in (frames.describe("out", shouting, 0.0, AT).frame or "")
    escaped = '[2,"r\\"3","X",{"password":"hunter2"}]'  # an id the head expression does not read
    slow = frames.describe("in", escaped, 0.0, AT)
    assert slow.message_type == "CALL" and "hunter2" not in (slow.frame or "")
    spelt = '[3,"r5",{"configurationKey":[{"key":"Authoriz\\u0061tionKey","value":"hunter2"}]}]'
    assert "hunter2" not in (frames.describe("in", spelt, 0.0, AT).frame or "")
    unreadable = '[2,"r4","X",{"password":"hunter2"'
    assert frames.describe("in", unreadable, 0.0, AT).frame is None


def test_histogram_is_cumulative() -> None:
    histogram = Histogram((0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 5.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert histogram.sum == 5.65


def test_server_stats_bound_the_series_a_station_can_create() -> None:
    stats = ServerStats()
    for n in range(MAX_SERIES + 50):
        stats.answered("1.6", f"Made-Up-{n}", "error", 0.001)
    assert len(stats.messages) <= MAX_SERIES + 1
    assert stats.messages[("1.6", OTHER, "in", "error")] == 50
    assert len(stats.handler_latency) <= MAX_SERIES + 1
    stats.called("1.6", "Reset", "result", "Accepted")
    stats.called("1.6", "Reset", "timeout", "Timeout")
    assert stats.commands == {("Reset", "Accepted"): 1, ("Reset", "Timeout"): 1}
