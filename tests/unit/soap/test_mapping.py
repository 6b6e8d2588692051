"""1.5 SOAP bodies onto the shared 1.6 model and back (csms.soap.mapping), and the schema decoding
that feeds them (csms.messages.soap.service): no sockets."""

from __future__ import annotations

import pytest
from lxml import etree

from csms.messages import MessageValidator
from csms.messages.soap.errors import SoapFault
from csms.messages.soap.service import ServiceDescription
from csms.rpc import OcppVersion
from csms.soap.mapping import request_to_json, response_from_json

NS15 = "urn://Ocpp/Cs/2012/06/"
NS16 = "urn://Ocpp/Cs/2015/10/"


@pytest.fixture(scope="module")
def v15() -> ServiceDescription:
    return ServiceDescription("1.5")


@pytest.fixture(scope="module")
def v16() -> ServiceDescription:
    return ServiceDescription("1.6")


def _decode(service: ServiceDescription, xml: str) -> dict[str, object]:
    return service.decode(etree.fromstring(xml))


def test_every_central_system_operation_is_read_from_the_wsdl(
    v15: ServiceDescription, v16: ServiceDescription
) -> None:
    expected = {
        "Authorize", "BootNotification", "DataTransfer", "DiagnosticsStatusNotification",
        "FirmwareStatusNotification", "Heartbeat", "MeterValues", "StartTransaction",
        "StatusNotification", "StopTransaction",
    }  # fmt: skip
    assert set(v15.operations) == set(v16.operations) == expected
    assert v16.operation_for("bootNotificationRequest") is v16.operations["BootNotification"]


def test_prefixed_elements_decode_to_plain_names(v16: ServiceDescription) -> None:
    """zeep and most stations prefix every element (ns0:...): keys must still be the field names."""
    body = _decode(
        v16,
        f'<p:bootNotificationRequest xmlns:p="{NS16}"><p:chargePointVendor>V</p:chargePointVendor>'
        "<p:chargePointModel>M</p:chargePointModel></p:bootNotificationRequest>",
    )
    assert body == {"chargePointVendor": "V", "chargePointModel": "M"}
    assert _decode(v16, f'<heartbeatRequest xmlns="{NS16}"/>') == {}


def test_a_time_without_offset_is_taken_as_utc(v16: ServiceDescription) -> None:
    body = _decode(
        v16,
        f'<startTransactionRequest xmlns="{NS16}"><connectorId>1</connectorId><idTag>T</idTag>'
        "<timestamp>2024-05-01T10:00:00</timestamp><meterStart>5</meterStart>"
        "</startTransactionRequest>",
    )
    assert body == {
        "connectorId": 1,
        "idTag": "T",
        "timestamp": "2024-05-01T10:00:00Z",
        "meterStart": 5,
    }


def test_schema_violations_name_the_rule_not_the_value(v16: ServiceDescription) -> None:
    with pytest.raises(SoapFault) as fault:
        _decode(
            v16, f'<authorizeRequest xmlns="{NS16}"><idTag>{"S" * 21}</idTag></authorizeRequest>'
        )
    assert fault.value.code == "Sender" and "schema violation" in fault.value.reason
    assert "SSSSSSSSSSSSSSSSSSSSS" not in fault.value.reason


def test_15_meter_values_become_16_sampled_values(v15: ServiceDescription) -> None:
    body = _decode(
        v15,
        f'<meterValuesRequest xmlns="{NS15}"><connectorId>1</connectorId>'
        "<transactionId>7</transactionId><values><timestamp>2024-05-01T10:00:00Z</timestamp>"
        '<value unit="Amp" measurand="Current.Import">16</value><value>1200</value></values>'
        "</meterValuesRequest>",
    )
    payload = request_to_json("1.5", "MeterValues", body)
    assert payload == {
        "connectorId": 1,
        "transactionId": 7,
        "meterValue": [
            {
                "timestamp": "2024-05-01T10:00:00Z",
                "sampledValue": [
                    {"value": "16", "measurand": "Current.Import", "unit": "A"},
                    {"value": "1200"},
                ],
            }
        ],
    }
    MessageValidator(OcppVersion.V16).validate_request("MeterValues", payload)


def test_15_stop_transaction_data_is_flattened(v15: ServiceDescription) -> None:
    body = _decode(
        v15,
        f'<stopTransactionRequest xmlns="{NS15}"><transactionId>7</transactionId>'
        "<timestamp>2024-05-01T11:00:00Z</timestamp><meterStop>900</meterStop>"
        "<transactionData><values><timestamp>2024-05-01T10:30:00Z</timestamp><value>450</value>"
        "</values></transactionData><transactionData><values>"
        "<timestamp>2024-05-01T11:00:00Z</timestamp><value>900</value></values></transactionData>"
        "</stopTransactionRequest>",
    )
    payload = request_to_json("1.5", "StopTransaction", body)
    assert [v["sampledValue"][0]["value"] for v in payload["transactionData"]] == ["450", "900"]
    MessageValidator(OcppVersion.V16).validate_request("StopTransaction", payload)


def test_15_status_and_error_code_names() -> None:
    payload = request_to_json(
        "1.5",
        "StatusNotification",
        {"connectorId": 1, "status": "Occupied", "errorCode": "Mode3Error"},
    )
    assert (payload["status"], payload["errorCode"]) == ("Charging", "EVCommunicationError")
    MessageValidator(OcppVersion.V16).validate_request("StatusNotification", payload)


def test_15_boot_answer_has_no_pending(v15: ServiceDescription) -> None:
    answer = {"status": "Pending", "currentTime": "2024-05-01T10:00:00Z", "interval": 60}
    body = response_from_json("1.5", "BootNotification", answer)
    assert body == {
        "status": "Rejected",
        "currentTime": "2024-05-01T10:00:00Z",
        "heartbeatInterval": 60,
    }
    v15.encode("bootNotificationResponse", body)  # valid for the 1.5 schema
    assert response_from_json("1.6", "BootNotification", answer) is answer


def test_an_invalid_response_of_ours_is_a_receiver_fault(v16: ServiceDescription) -> None:
    with pytest.raises(SoapFault) as fault:
        v16.encode("heartbeatResponse", {"currentTime": "yesterday"})
    assert fault.value.code == "Receiver" and fault.value.status == 500


def test_the_shipped_wsdls_are_the_official_files_unmodified() -> None:
    """CC BY-ND / "free to use without modifications": byte-identical to ../shared/spec/soap."""
    from pathlib import Path

    from csms.messages.soap.service import WSDL_DIR

    official = Path(__file__).resolve().parents[3].parent / "shared" / "spec" / "soap"
    if not official.is_dir():
        pytest.skip("../shared/spec/soap is not present")
    shipped = sorted(p.name for p in WSDL_DIR.glob("*.wsdl"))
    assert len(shipped) == 4
    for name in shipped:
        assert (WSDL_DIR / name).read_bytes() == (official / name).read_bytes(), name
