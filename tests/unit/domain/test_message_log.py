"""The message log's pure part: secrets masked whatever the action, results paired with CALLs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from csms.domain.commands import MASKED
from csms.domain.messagelog import (
    MAX_PENDING,
    LoggedExchange,
    StationFrames,
    frame_payload,
    mask_secrets,
)
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


def _rows(frames: StationFrames, *seen: tuple[str, str | bytes, float]) -> list[LoggedExchange]:
    rows: list[LoggedExchange] = []
    for direction, frame, monotonic in seen:
        frames.describe(rows, direction, frame, monotonic, AT + monotonic)
    return rows


def test_results_are_paired_with_their_call_in_either_direction() -> None:
    frames = _frames()
    assert _rows(frames, ("in", '[2,"1","Heartbeat",{}]', 10.0)) == []  # waits for its answer
    [call] = _rows(frames, ("out", b'[3,"1",{"currentTime":"x"}]', 10.0125))
    assert (call.message_type, call.action, call.direction, call.at) == (
        "CALL",
        "Heartbeat",
        "in",
        AT + 10.0,
    )
    assert (call.response_type, call.latency_ms, call.outcome) == ("CALLRESULT", 12.5, "result")
    assert call.size == len('[2,"1","Heartbeat",{}]')
    assert call.response_size == len(b'[3,"1",{"currentTime":"x"}]')
    [error] = _rows(
        frames,
        ("out", '[2,"a","Reset",{"type":"Hard"}]', 20.0),
        ("in", '[4,"a","NotSupported","no",{}]', 20.5),
    )
    assert (error.direction, error.action, error.response_type, error.error_code) == (
        "out",
        "Reset",
        "CALLERROR",
        "NotSupported",
    )
    assert error.latency_ms == 500.0 and error.outcome == "error"
    assert frame_payload(error.response_frame or "") == {
        "errorCode": "NotSupported",
        "errorDescription": "no",
        "errorDetails": {},
    }
    assert frame_payload(error.frame or "") == {"type": "Hard"}
    assert frame_payload(call.frame or "") == {}
    assert frame_payload(call.response_frame or "") == {"currentTime": "x"}
    [stray] = _rows(frames, ("in", '[3,"zzz",{}]', 21.0))  # no such CALL: a row of its own
    assert (stray.message_type, stray.action, stray.latency_ms) == ("CALLRESULT", None, None)
    assert stray.response_type is None and stray.outcome is None
    [lone_error] = _rows(frames, ("in", '[4,"zz","GenericError","",{}]', 21.0))
    assert (lone_error.message_type, lone_error.error_code) == ("CALLERROR", "GenericError")
    [send] = _rows(frames, ("in", '[6,"s1","NotifyPeriodicEventStream",{}]', 22.0))
    assert (send.message_type, send.action, send.outcome) == (
        "SEND",
        "NotifyPeriodicEventStream",
        None,
    )


def test_unanswered_calls_are_written_on_expiry_and_on_close() -> None:
    frames = _frames()
    assert (
        _rows(frames, ("out", '[2,"a","Reset",{}]', 1.0), ("in", '[2,"b","Heartbeat",{}]', 5.0))
        == []
    )
    rows: list[LoggedExchange] = []
    frames.expire(rows, 1.0)
    assert rows == []  # not yet
    frames.expire(rows, 2.0)
    [reset] = rows
    assert (reset.action, reset.direction, reset.at, reset.outcome) == (
        "Reset",
        "out",
        AT + 1.0,
        "unanswered",
    )
    assert reset.response_type is None and reset.latency_ms is None
    assert _rows(frames, ("in", '[3,"a",{}]', 40.0))[0].action is None  # too late: a lone result
    frames.close(rows)
    assert [r.action for r in rows] == ["Reset", "Heartbeat"] and rows[1].outcome == "unanswered"
    assert frames.pending == {}


def test_pending_calls_are_bounded() -> None:
    frames = _frames()
    rows = _rows(
        frames, *(("out", f'[2,"{n}","Reset",{{}}]', float(n)) for n in range(MAX_PENDING + 10))
    )
    assert [r.message_id for r in rows] == [str(n) for n in range(10)]  # the oldest: unanswered
    assert all(r.outcome == "unanswered" for r in rows)
    assert _rows(frames, ("in", '[3,"0",{}]', 100.0))[0].action is None  # already written
    [answered] = _rows(frames, ("in", f'[3,"{MAX_PENDING + 9}",{{}}]', 100.0))
    assert answered.action == "Reset" and answered.outcome == "result"
    assert len(frames.pending) == MAX_PENDING - 1


def test_unreadable_frames_and_payload_settings() -> None:
    frames = _frames()
    [bad] = _rows(frames, ("in", "not json", 0.0))
    assert (bad.message_type, bad.frame) == ("INVALID", "not json")
    assert frame_payload("not json") == "not json"
    [secret] = _rows(frames, ("in", '{"password": "x"', 0.0))
    assert secret.message_type == "INVALID" and secret.frame is None
    silent = _frames(keep_payloads=False)
    [kept] = _rows(silent, ("in", '[2,"1","Heartbeat",{}]', 0), ("out", '[3,"1",{}]', 0))
    assert kept.frame is None and kept.response_frame is None and kept.response_size == 10
    big = '[2,"1","DataTransfer",{"vendorId":"v","data":"' + "x" * 100 + '"}]'
    small = _frames(max_payload=50)
    [kept] = _rows(small, ("in", big, 0.0), ("out", '[3,"1",{"status":"Accepted"}]', 0.0))
    assert kept.frame is None and kept.action == "DataTransfer" and kept.size == len(big)
    assert kept.response_frame == '[3,"1",{"status":"Accepted"}]'


def test_secrets_are_masked_in_the_stored_frame_whatever_its_spelling() -> None:
    frames = _frames()

    def stored(direction: str, frame: str) -> str:
        rows: list[LoggedExchange] = []
        frames.describe(rows, direction, frame, 0.0, AT)
        frames.close(rows)
        [row] = rows
        return (row.frame or "") + (row.response_frame or "")

    change = '[2,"r1","ChangeConfiguration",{"key":"AuthorizationKey","value":"hunter2-hunter2"}]'
    [answered] = _rows(frames, ("out", change, 0.0), ("in", '[3,"r1",{"status":"Accepted"}]', 0.1))
    assert answered.action == "ChangeConfiguration"
    assert "hunter2" not in (answered.frame or "")
    assert frame_payload(answered.frame or "") == {"key": "AuthorizationKey", "value": MASKED}
    shouting = '[2, "r2" ,"SetNetworkProfile",{"connectionData":{"BASICAUTHPASSWORD":"hunter2"}}]'
    assert "hunter2" not in stored("out", shouting)
    escaped = '[2,"r\\"3","X",{"password":"hunter2"}]'  # an id the head expression does not read
    rows: list[LoggedExchange] = []
    frames.describe(rows, "in", escaped, 0.0, AT)
    frames.close(rows)
    [slow] = rows
    assert slow.message_type == "CALL" and "hunter2" not in (slow.frame or "")
    spelt = '[3,"r5",{"configurationKey":[{"key":"Authoriz\\u0061tionKey","value":"hunter2"}]}]'
    assert "hunter2" not in stored("in", spelt)
    frames.describe(rows, "out", '[2,"r6","GetConfiguration",{}]', 0.0, AT)
    [result] = _rows(frames, ("in", spelt.replace("r5", "r6"), 0.2))
    assert result.action == "GetConfiguration" and "hunter2" not in (result.response_frame or "")
    unreadable = '[2,"r4","X",{"password":"hunter2"'
    assert stored("in", unreadable) == ""


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
