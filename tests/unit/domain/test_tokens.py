"""The authorization rules of csms.domain.tokens (1.6 §7.2 AuthorizationStatus, §7.27 IdTagInfo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from csms.domain.tokens import AuthorizationStatus, IdToken, IdTokenInfo, evaluate, token_key

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_unknown_token_is_invalid() -> None:
    assert evaluate(None, NOW, in_other_transaction=True) == IdTokenInfo(
        AuthorizationStatus.INVALID
    )


def test_accepted_token_carries_expiry_and_parent() -> None:
    token = IdToken("A", expiry_date=NOW + timedelta(days=1), parent_id_token="G")
    info = evaluate(token, NOW, in_other_transaction=False)
    assert info == IdTokenInfo(AuthorizationStatus.ACCEPTED, NOW + timedelta(days=1), "G")


def test_expired_at_the_expiry_instant() -> None:
    token = IdToken("A", expiry_date=NOW)
    assert evaluate(token, NOW, in_other_transaction=False).status is AuthorizationStatus.EXPIRED


def test_concurrent_tx_only_for_otherwise_valid_tokens() -> None:
    assert (
        evaluate(IdToken("A"), NOW, in_other_transaction=True).status
        is AuthorizationStatus.CONCURRENT_TX
    )
    blocked = IdToken("A", status=AuthorizationStatus.BLOCKED)
    assert evaluate(blocked, NOW, in_other_transaction=True).status is AuthorizationStatus.BLOCKED
    expired = IdToken("A", expiry_date=NOW - timedelta(seconds=1))
    assert evaluate(expired, NOW, in_other_transaction=True).status is AuthorizationStatus.EXPIRED


def test_stored_invalid_stays_invalid() -> None:
    token = IdToken("A", status=AuthorizationStatus.INVALID, parent_id_token="G")
    assert evaluate(token, NOW, in_other_transaction=False) == IdTokenInfo(
        AuthorizationStatus.INVALID, None, "G"
    )


@pytest.mark.parametrize("status", [AuthorizationStatus.EXPIRED, AuthorizationStatus.CONCURRENT_TX])
def test_derived_statuses_cannot_be_stored(status: AuthorizationStatus) -> None:
    with pytest.raises(ValueError, match="derived"):
        IdToken("A", status=status)


def test_empty_token_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        IdToken("")


def test_tokens_are_case_insensitive() -> None:
    assert token_key("abCD12") == token_key("ABcd12")


def test_language_and_evse_restrictions_go_with_every_answer() -> None:
    token = IdToken("T", language="de", evse_ids=(1, 3))
    info = evaluate(token, NOW, in_other_transaction=True)
    assert (info.status, info.language, info.evse_ids) == (
        AuthorizationStatus.CONCURRENT_TX,
        "de",
        (1, 3),
    )


@pytest.mark.parametrize(
    "fields", [{"language": ""}, {"language": "x" * 9}, {"evse_ids": (0,)}, {"evse_ids": (-1,)}]
)
def test_a_language_or_evse_outside_the_2x_limits_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"language|EVSE"):
        IdToken("T", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "presented", "matches"),
    [
        (None, None, True),  # a 1.6 idTag presented by a 1.6 station
        (None, "ISO14443", True),  # a type-less token serves every 2.x type
        ("ISO14443", None, True),  # a 1.6 station presents the card's value without a type
        ("ISO14443", "ISO14443", True),
        ("ISO14443", "KeyCode", False),  # 2.x: (idToken, type) is the identity
    ],
)
def test_type_matches(stored: str | None, presented: str | None, matches: bool) -> None:
    from csms.domain.tokens import type_matches

    assert type_matches(stored, presented) is matches


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token_type": "Bogus"}, "IdTokenEnumType"),
        ({"token_type": "NoAuthorization"}, "NoAuthorization"),
    ],
)
def test_token_type_is_checked(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IdToken("A", **kwargs)  # type: ignore[arg-type]


def test_2_1_types_and_long_tokens_are_storable() -> None:
    assert IdToken("x" * 255, token_type="VIN").token_type == "VIN"
    with pytest.raises(ValueError, match="255"):
        IdToken("x" * 256)
