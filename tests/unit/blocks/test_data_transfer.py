"""Station-initiated DataTransfer: the vendor registry, its loading from configuration, the handler."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csms.blocks.context import CallContext
from csms.blocks.datatransfer import DataTransferBlock, DataTransferRegistry, VendorMessages
from csms.blocks.datatransfer.echo import EchoHandler
from csms.blocks.datatransfer.loading import (
    ENTRY_POINT_GROUP,
    HandlerConfigError,
    build_registry,
    parse_handler_spec,
)
from csms.blocks.dispatch import Dispatcher
from csms.blocks.routing import Router
from csms.domain.commands import MASKED, DataTransferResult, DataTransferStatus, StatusInfo
from csms.domain.configuration import mask_result
from csms.domain.datatransfer import DataTransferRequest
from csms.domain.model import RegistrationStatus
from csms.messages import MessageValidator
from csms.rpc import ALL_VERSIONS, OcppVersion


def request(vendor: str, message: str | None = None, data: Any = None) -> DataTransferRequest:
    return DataTransferRequest("CS1", "1.6", vendor, message, data)


class Parking:
    """A vendor handler written against the protocol only (no csms base class)."""

    def __init__(self) -> None:
        self.seen: list[DataTransferRequest] = []

    async def handle(self, req: DataTransferRequest) -> DataTransferResult:
        self.seen.append(req)
        if req.message_id != "Occupied":
            return DataTransferResult(DataTransferStatus.UNKNOWN_MESSAGE_ID)
        return DataTransferResult(
            DataTransferStatus.ACCEPTED, data={"bay": 3}, status_info=StatusInfo("OK")
        )


class Broken:
    async def handle(self, req: DataTransferRequest) -> DataTransferResult:
        raise RuntimeError("vendor bug")


async def test_registry_answers_unknown_vendor_and_dispatches_case_insensitively() -> None:
    registry = DataTransferRegistry()
    parking = Parking()
    registry.register("com.Parking", parking)
    registry.register("broken", Broken())
    assert registry.vendors() == ["broken", "com.Parking"]
    assert (
        await registry.dispatch(request("nobody"))
    ).status is DataTransferStatus.UNKNOWN_VENDOR_ID
    assert (
        await registry.dispatch(request("COM.PARKING", "Free"))
    ).status is DataTransferStatus.UNKNOWN_MESSAGE_ID
    ok = await registry.dispatch(request("com.parking", "Occupied"))
    assert (ok.status, ok.data) == (DataTransferStatus.ACCEPTED, {"bay": 3})
    # A handler's exception is the vendor's bug: answered Rejected, never a CALLERROR.
    assert (await registry.dispatch(request("broken"))).status is DataTransferStatus.REJECTED
    with pytest.raises(ValueError, match="two DataTransfer handlers"):
        registry.register("COM.parking", Parking())
    with pytest.raises(TypeError):
        registry.register("x", object())  # type: ignore[arg-type]


async def test_vendor_messages_routes_by_message_id() -> None:
    async def hello(req: DataTransferRequest) -> DataTransferResult:
        return DataTransferResult(DataTransferStatus.ACCEPTED, data=f"hi {req.station_id}")

    handler = VendorMessages({"Hello": hello})
    assert (await handler.handle(request("v", "hello"))).data == "hi CS1"
    assert (await handler.handle(request("v"))).status is DataTransferStatus.UNKNOWN_MESSAGE_ID
    echo = await EchoHandler().handle(request("v", "Echo", "ping"))
    assert (echo.status, echo.data) == (DataTransferStatus.ACCEPTED, "ping")


@pytest.fixture
def vendor_module() -> Iterator[str]:
    """A module a user would have written, importable by name."""
    module = types.ModuleType("csms_test_vendor")
    module.Parking = Parking  # type: ignore[attr-defined]
    module.instance = Parking()  # type: ignore[attr-defined]
    module.nothing = 42  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module.__name__
    del sys.modules[module.__name__]


async def test_handlers_load_from_configuration(vendor_module: str) -> None:
    spec = (
        f" com.parking={vendor_module}:Parking, other={vendor_module}:instance,"
        " echo=csms.blocks.datatransfer.echo:EchoHandler,"
    )
    assert parse_handler_spec(spec)[0] == ("com.parking", f"{vendor_module}:Parking")
    registry = build_registry(spec)
    assert registry.vendors() == ["com.parking", "echo", "other"]
    result = await registry.dispatch(request("echo", "Echo", "x"))
    assert result.data == "x"
    for bad in (
        "novendor",
        "v=module_without_colon",
        f"v={vendor_module}:missing",
        f"v={vendor_module}:nothing",
        "v=csms_no_such_module:X",
        f"v={vendor_module}:Parking,V={vendor_module}:Parking",
    ):
        with pytest.raises(HandlerConfigError):
            build_registry(bad, use_entry_points=False)


def _dispatcher(registry: DataTransferRegistry) -> Dispatcher:
    validators = {v: MessageValidator(v) for v in ALL_VERSIONS}
    return Dispatcher(Router.from_blocks(DataTransferBlock(registry)), validators)


async def test_data_transfer_block_per_version() -> None:
    registry = DataTransferRegistry()
    registry.register("com.parking", Parking())
    dispatcher = _dispatcher(registry)
    ctx16 = CallContext("CS1", OcppVersion.V16, RegistrationStatus.ACCEPTED)
    answer = await dispatcher.handle_call(
        ctx16, "DataTransfer", {"vendorId": "com.parking", "messageId": "Occupied", "data": "1"}
    )
    assert answer == {"status": "Accepted", "data": '{"bay":3}'}  # 1.6 data is text
    unknown = await dispatcher.handle_call(ctx16, "DataTransfer", {"vendorId": "acme"})
    assert unknown == {"status": "UnknownVendorId"}
    for version in (OcppVersion.V201, OcppVersion.V21):
        ctx2 = CallContext("CS1", version, RegistrationStatus.ACCEPTED)
        answer = await dispatcher.handle_call(
            ctx2,
            "DataTransfer",
            {"vendorId": "com.parking", "messageId": "Occupied", "data": {"any": ["json"]}},
        )
        assert answer == {
            "status": "Accepted",
            "data": {"bay": 3},
            "statusInfo": {"reasonCode": "OK"},
        }
        unknown_message = await dispatcher.handle_call(
            ctx2, "DataTransfer", {"vendorId": "com.parking", "messageId": "Nope"}
        )
        assert unknown_message == {"status": "UnknownMessageId"}


async def test_handlers_load_from_installed_entry_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor_module: str
) -> None:
    """An installed package declares `[project.entry-points."csms.data_transfer"]`."""
    dist = tmp_path / "acme_csms-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-csms\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ncom.acme = {vendor_module}:Parking\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = build_registry("echo=csms.blocks.datatransfer.echo:EchoHandler")
    assert registry.vendors() == ["com.acme", "echo"]
    answer = await registry.dispatch(request("com.acme", "Occupied"))
    assert answer.status is DataTransferStatus.ACCEPTED
    assert build_registry(use_entry_points=False).vendors() == []


def test_mask_result_hides_secrets_in_configuration_results() -> None:
    get16 = {
        "configurationKey": [
            {"key": "AuthorizationKey", "readonly": False, "value": "secret-key-value"},
            {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        ]
    }
    masked16 = mask_result("GetConfiguration", get16)
    assert [e["value"] for e in masked16["configurationKey"]] == [MASKED, "300"]
    assert get16["configurationKey"][0]["value"] == "secret-key-value"  # a copy, not in place
    get2 = {
        "getVariableResult": [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "pw-pw-pw-pw-pw-pw",
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }
        ]
    }
    assert mask_result("GetVariables", get2)["getVariableResult"][0]["attributeValue"] == MASKED
    plain = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False}]}
    assert mask_result("GetConfiguration", plain) is plain
    assert mask_result("Reset", {"status": "Accepted"}) == {"status": "Accepted"}
