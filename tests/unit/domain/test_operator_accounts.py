"""Roles, account names, operator password hashing and the login throttle (sans I/O)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from csms.domain.accounts import Role, is_valid_account_name, lower_role, role_allows
from csms.domain.login_throttle import LoginThrottle
from csms.domain.operator_passwords import (
    MIN_PASSWORD_LENGTH,
    OperatorPasswords,
    WeakOperatorPassword,
    check_operator_password,
)

# Cheap parameters: the tests check behaviour, not cost.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_roles_are_ordered_viewer_operator_admin() -> None:
    assert role_allows(Role.ADMIN, Role.OPERATOR)
    assert role_allows(Role.OPERATOR, Role.OPERATOR)
    assert not role_allows(Role.VIEWER, Role.OPERATOR)
    assert not role_allows(Role.OPERATOR, Role.ADMIN)
    assert lower_role(Role.ADMIN, Role.VIEWER) is Role.VIEWER
    assert lower_role(Role.OPERATOR, Role.ADMIN) is Role.OPERATOR


@pytest.mark.parametrize("name", ["alice", "ops.team", "a@example.com", "x" * 64])
def test_account_names_accepted(name: str) -> None:
    assert is_valid_account_name(name)


@pytest.mark.parametrize("name", ["", "-a", "a b", "x" * 65, "bootstrap", "a/b", "é"])
def test_account_names_refused(name: str) -> None:
    assert not is_valid_account_name(name)


def test_passwords_are_argon2id_and_verify() -> None:
    passwords = OperatorPasswords(FAST)
    digest = passwords.hash("correct horse battery")
    assert digest.startswith("$argon2id$")
    assert "correct" not in digest
    assert passwords.verify(digest, "correct horse battery")
    assert not passwords.verify(digest, "correct horse batterz")
    assert not passwords.verify("not a hash", "correct horse battery")


def test_unknown_account_is_verified_against_a_dummy_hash_and_fails() -> None:
    calls: list[str] = []

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            calls.append(str(hash))
            return super().verify(hash, password)

    passwords = OperatorPasswords(Spy(time_cost=1, memory_cost=8, parallelism=1))
    assert not passwords.verify(None, "csms dummy password for unknown accounts")
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")  # the same work was done


def test_password_policy() -> None:
    with pytest.raises(WeakOperatorPassword):
        check_operator_password("x" * (MIN_PASSWORD_LENGTH - 1))
    with pytest.raises(WeakOperatorPassword):
        check_operator_password("x" * 257)
    check_operator_password("x" * MIN_PASSWORD_LENGTH)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _throttle(clock: Clock) -> LoginThrottle:
    return LoginThrottle(
        failures_per_account_address=3, failures_per_address=5, window=60.0, clock=clock
    )


def test_an_account_hammered_from_one_address_stays_open_from_another() -> None:
    clock = Clock()
    throttle = _throttle(clock)
    for _ in range(3):
        assert throttle.wait("alice", "198.51.100.7") == 0.0
        throttle.failed("alice", "198.51.100.7")
    assert throttle.wait("alice", "198.51.100.7") > 0  # the attacker's pair is spent
    assert throttle.wait("alice", "203.0.113.9") == 0.0  # the owner elsewhere is not
    assert throttle.wait("bob", "198.51.100.7") == 0.0  # nor is another account from there


def test_an_address_spraying_many_accounts_is_throttled_for_all() -> None:
    clock = Clock()
    throttle = _throttle(clock)
    for n in range(5):
        throttle.failed(f"user{n}", "198.51.100.7")
    assert throttle.wait("anyone", "198.51.100.7") > 0
    assert throttle.wait("anyone", "198.51.100.8") == 0.0


def test_unknown_names_charge_only_the_address_and_add_no_pair_keys() -> None:
    throttle = _throttle(Clock())
    for _ in range(4):
        throttle.failed(None, "2001:db8::1")
    assert throttle.sizes() == (0, 1)
    throttle.failed(None, "2001:db8::2")  # same /64: same group
    assert throttle.wait("alice", "2001:db8::3") > 0


def test_budgets_refill_over_the_window() -> None:
    clock = Clock()
    throttle = _throttle(clock)
    for _ in range(3):
        throttle.failed("alice", "198.51.100.7")
    wait = throttle.wait("alice", "198.51.100.7")
    assert 0 < wait <= 20.0
    clock.now += wait
    assert throttle.wait("alice", "198.51.100.7") == 0.0
