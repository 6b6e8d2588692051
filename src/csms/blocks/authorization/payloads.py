"""The token status on the wire: 1.6 IdTagInfo (§7.27) and 2.x IdTokenInfoType."""

from __future__ import annotations

from typing import Any

from csms.blocks.timefmt import format_datetime
from csms.domain.tokens import IdTokenInfo

# 2.x groupIdToken needs a type; the group is a token the CSMS itself keeps.
GROUP_TOKEN_TYPE = "Central"


def id_tag_info(info: IdTokenInfo) -> dict[str, Any]:
    """1.6 IdTagInfo: status, and expiryDate / parentIdTag when known."""
    out: dict[str, Any] = {"status": info.status.value}
    if info.expiry_date is not None:
        out["expiryDate"] = format_datetime(info.expiry_date)
    if info.parent_id_token is not None:
        out["parentIdTag"] = info.parent_id_token
    return out


def id_token_info(info: IdTokenInfo) -> dict[str, Any]:
    """2.x IdTokenInfoType: status, cacheExpiryDateTime, groupIdToken, language1 and evseId
    (the EVSEs the token is valid at; absent: all)."""
    out: dict[str, Any] = {"status": info.status.value}
    if info.expiry_date is not None:
        out["cacheExpiryDateTime"] = format_datetime(info.expiry_date)
    if info.parent_id_token is not None:
        out["groupIdToken"] = {"idToken": info.parent_id_token, "type": GROUP_TOKEN_TYPE}
    if info.language is not None:
        out["language1"] = info.language
    if info.evse_ids:
        out["evseId"] = list(info.evse_ids)
    return out
