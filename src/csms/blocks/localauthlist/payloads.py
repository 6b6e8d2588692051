"""Local list payloads per OCPP version (the only version-specific part of the block).

1.6 §6.27/6.28, §6.41/6.42, §7.3 AuthorizationData (idTag ≤ 20 characters, idTagInfo); 2.0.1/2.1
SendLocalListRequest (versionNumber; idToken {idToken ≤ 36, type}; idTokenInfo; the list has
minItems 1, so an empty list is left out) and GetVariables for LocalAuthListCtrlr limits.
"""

from __future__ import annotations

from typing import Any

from csms.blocks.timefmt import format_datetime
from csms.domain.errors import InvalidPayload
from csms.domain.localauth import LocalListEntry, UpdateType
from csms.rpc import OcppVersion

__all__ = [
    "DEFAULT_TOKEN_TYPE",
    "GROUP_TOKEN_TYPE",
    "entry_payload",
    "limits_from_response",
    "limits_request",
    "send_local_list_payload",
    "version_from_response",
]

Payload = dict[str, Any]

DEFAULT_TOKEN_TYPE = "ISO14443"  # 2.x IdTokenEnumType of an entry without a type: an RFID card
GROUP_TOKEN_TYPE = "Central"  # 2.x type of a groupIdToken (a parent id is a CSMS-made group id)
_MAX_ID = {OcppVersion.V16: 20, OcppVersion.V201: 36, OcppVersion.V21: 36}

# 1.6 §9.2.3; 2.0.1 Part 2 appendices LocalAuthListCtrlr.
SEND_LOCAL_LIST_MAX_LENGTH = "SendLocalListMaxLength"
LOCAL_AUTH_LIST_CTRLR = "LocalAuthListCtrlr"
ITEMS_PER_MESSAGE = "ItemsPerMessage"
BYTES_PER_MESSAGE = "BytesPerMessage"


def entry_payload(entry: LocalListEntry, version: OcppVersion) -> Payload:
    """One AuthorizationData; an entry without status has no idTagInfo (Differential: remove).

    Raises:
        InvalidPayload: an identifier is too long for ``version``.
    """
    for token in (entry.id_token, entry.parent_id_token):
        if token is not None and len(token) > _MAX_ID[version]:
            raise InvalidPayload(
                f"identifier longer than {_MAX_ID[version]} characters for OCPP {version}",
                code="PropertyConstraintViolation",
            )
    if version is OcppVersion.V16:
        data: Payload = {"idTag": entry.id_token}
        if entry.status is not None:
            info: Payload = {"status": entry.status.value}
            if entry.expiry_date is not None:
                info["expiryDate"] = format_datetime(entry.expiry_date)
            if entry.parent_id_token is not None:
                info["parentIdTag"] = entry.parent_id_token
            data["idTagInfo"] = info
        return data
    data = {"idToken": {"idToken": entry.id_token, "type": entry.token_type or DEFAULT_TOKEN_TYPE}}
    if entry.status is not None:
        info = {"status": entry.status.value}
        if entry.expiry_date is not None:
            info["cacheExpiryDateTime"] = format_datetime(entry.expiry_date)
        if entry.parent_id_token is not None:
            info["groupIdToken"] = {"idToken": entry.parent_id_token, "type": GROUP_TOKEN_TYPE}
        data["idTokenInfo"] = info
    return data


def send_local_list_payload(
    list_version: int, update_type: UpdateType, items: list[Payload], version: OcppVersion
) -> Payload:
    """A SendLocalList request carrying already-mapped ``items``."""
    key = "listVersion" if version is OcppVersion.V16 else "versionNumber"
    payload: Payload = {key: list_version, "updateType": update_type.value}
    if items:
        payload["localAuthorizationList"] = items
    return payload


def version_from_response(payload: Payload, version: OcppVersion) -> int:
    """The list version in a GetLocalListVersion answer (1.6 listVersion; 2.x versionNumber)."""
    return int(payload["listVersion" if version is OcppVersion.V16 else "versionNumber"])


def limits_request(version: OcppVersion) -> tuple[str, Payload]:
    """The CALL that reads the station's per-message limits."""
    if version is OcppVersion.V16:
        return "GetConfiguration", {"key": [SEND_LOCAL_LIST_MAX_LENGTH]}
    component = {"name": LOCAL_AUTH_LIST_CTRLR}
    return "GetVariables", {
        "getVariableData": [
            {"component": component, "variable": {"name": ITEMS_PER_MESSAGE}},
            {"component": component, "variable": {"name": BYTES_PER_MESSAGE}},
        ]
    }


def limits_from_response(payload: Payload, version: OcppVersion) -> tuple[int | None, int | None]:
    """(max items, max bytes) per message from the answer to :func:`limits_request`."""
    if version is OcppVersion.V16:
        for key in payload.get("configurationKey", ()):
            if key.get("key") == SEND_LOCAL_LIST_MAX_LENGTH:
                return _positive(key.get("value")), None
        return None, None
    found: dict[str, int | None] = {}
    for result in payload.get("getVariableResult", ()):
        if result.get("attributeStatus") != "Accepted":
            continue
        if result.get("component", {}).get("name") != LOCAL_AUTH_LIST_CTRLR:
            continue
        found[result.get("variable", {}).get("name", "")] = _positive(result.get("attributeValue"))
    return found.get(ITEMS_PER_MESSAGE), found.get(BYTES_PER_MESSAGE)


def _positive(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None
