"""``csms user add|list|disable|enable`` and ``csms api-token create|list|revoke``: operator accounts
and their API tokens, straight in the database (no running csms needed; a running one sees the
change at its next request).

``csms api-token rotate`` (in :mod:`csms.cli`) replaces the bootstrap token, which has no account.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher

from csms.config import Settings, driver_database_url
from csms.domain.accounts import Role, is_valid_account_name
from csms.domain.api_credentials import ACCOUNT_TOKEN_PREFIX, new_secret, token_digest
from csms.domain.errors import DomainError
from csms.domain.operator_passwords import (
    OperatorPasswords,
    WeakOperatorPassword,
    check_operator_password,
)
from csms.storage import Store, open_store

__all__ = ["add_account_parsers"]

_ROLES = [r.value for r in Role]


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> int:
    sys.stderr.write(f"error: {text}\n")
    return 1


def _with_store(
    args: argparse.Namespace, settings: Settings, work: Callable[[Store], Awaitable[int]]
) -> int:
    url = driver_database_url(str(args.database_url or settings.database.url))

    async def main() -> int:
        store = await open_store(url)
        try:
            return await work(store)
        except DomainError as exc:
            return _err(str(exc))
        finally:
            await store.aclose()

    return asyncio.run(main())


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        sys.stderr.write("error: the passwords differ\n")
        return None
    return first


def _cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    if not is_valid_account_name(args.name):
        return _err("a name is 1 to 64 letters, digits or . _ @ - (not 'bootstrap')")
    password = _read_password(args)
    if password is None:
        return _err("give the password with --password-stdin or type it at the prompt")
    try:
        check_operator_password(password)
    except WeakOperatorPassword as exc:
        return _err(f"password: {exc}")
    api = settings.api
    hasher = PasswordHasher(memory_cost=api.password_hash_memory, time_cost=api.password_hash_time)
    password_hash = OperatorPasswords(hasher).hash(password)

    async def work(store: Store) -> int:
        account = await store.accounts.add_account(
            args.name, Role(args.role), password_hash, datetime.now(UTC)
        )
        _out(f"account {account.name} ({account.role}) created, id {account.id}")
        return 0

    return _with_store(args, settings, work)


def _cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        _out(f"{'ID':>4}  {'NAME':<24} {'ROLE':<9} {'STATE':<9} CREATED")
        for a in await store.accounts.list_accounts():
            state = "enabled" if a.enabled else "disabled"
            _out(f"{a.id:>4}  {a.name:<24} {a.role:<9} {state:<9} {a.created_at:%Y-%m-%d %H:%M}")
        return 0

    return _with_store(args, settings, work)


def _set_enabled(enabled: bool) -> Callable[[argparse.Namespace, Settings], int]:
    def command(args: argparse.Namespace, settings: Settings) -> int:
        async def work(store: Store) -> int:
            account = await store.accounts.account_by_name(args.name)
            if account is None:
                return _err(f"no account named {args.name!r}")
            await store.accounts.update_account(account.id, enabled=enabled, now=datetime.now(UTC))
            what = "enabled" if enabled else "disabled: its tokens and sessions stop working now"
            _out(f"account {account.name} {what}")
            return 0

        return _with_store(args, settings, work)

    return command


def _cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        account = await store.accounts.account_by_name(args.user)
        if account is None:
            return _err(f"no account named {args.user!r} (csms user add)")
        role = Role(args.role) if args.role else account.role
        if role.rank > account.role.rank:
            return _err(f"--role: at most the account's role, {account.role}")
        now = datetime.now(UTC)
        if args.expires_in_days is not None and not args.expires_in_days > 0:
            return _err("--expires-in-days: more than 0")
        if args.never_expires:
            expires = None
        elif args.expires_in_days is not None:
            expires = now + timedelta(days=args.expires_in_days)
        else:
            lifetime = settings.api.token_lifetime
            expires = now + timedelta(seconds=lifetime) if lifetime else None
        token = new_secret(ACCOUNT_TOKEN_PREFIX)
        record = await store.accounts.add_token(
            account.id, args.name, role, token_digest(token), now=now, expires_at=expires
        )
        _out(token)  # alone on stdout: TOKEN=$(csms api-token create --user alice)
        until = f"until {expires:%Y-%m-%d %H:%M} UTC" if expires else "without expiry"
        sys.stderr.write(
            f"API token {record.id} for {account.name} ({role}), {until}; shown this once\n"
        )
        return 0

    return _with_store(args, settings, work)


def _cmd_token_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        owner = None
        if args.user:
            account = await store.accounts.account_by_name(args.user)
            if account is None:
                return _err(f"no account named {args.user!r}")
            owner = account.id
        _out(f"{'ID':>4}  {'ACCOUNT':<20} {'NAME':<20} {'ROLE':<9} {'EXPIRES':<17} STATE")
        now = datetime.now(UTC)
        for t in await store.accounts.list_tokens(owner):
            expires = f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never"
            state = (
                "revoked"
                if t.revoked_at
                else "expired"
                if t.expires_at and t.expires_at <= now
                else "active"
            )
            _out(f"{t.id:>4}  {t.account_name:<20} {t.name:<20} {t.role:<9} {expires:<17} {state}")
        return 0

    return _with_store(args, settings, work)


def _cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(store: Store) -> int:
        record = await store.accounts.revoke_token(args.token_id, datetime.now(UTC))
        _out(f"API token {record.id} of {record.account_name} revoked")
        return 0

    return _with_store(args, settings, work)


def add_account_parsers(sub: Any, api_token_sub: Any) -> None:
    """Add ``user ...`` to the ``csms`` subcommands and ``create|list|revoke`` to ``api-token``."""
    db_help = "CSMS_DATABASE_URL"
    user = sub.add_parser("user", help="manage operator accounts (HTTP API logins and roles)")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create an account (asks for its password)")
    add.add_argument("name")
    add.add_argument("--role", choices=_ROLES, default=Role.VIEWER.value)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--database-url", help=db_help)
    add.set_defaults(func=_cmd_user_add)
    ls = user_sub.add_parser("list", help="list accounts")
    ls.add_argument("--database-url", help=db_help)
    ls.set_defaults(func=_cmd_user_list)
    for name, enabled, text in (
        ("disable", False, "disable an account: its tokens and sessions stop working at once"),
        ("enable", True, "enable a disabled account again"),
    ):
        cmd = user_sub.add_parser(name, help=text)
        cmd.add_argument("name")
        cmd.add_argument("--database-url", help=db_help)
        cmd.set_defaults(func=_set_enabled(enabled))

    create = api_token_sub.add_parser("create", help="create an account's API token, print it")
    create.add_argument("--user", required=True, help="the account")
    create.add_argument("--name", default="cli", help="what the token is for")
    create.add_argument("--role", choices=_ROLES, help="ceiling (default: the account's role)")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in-days", type=float, help="default: CSMS_API_TOKEN_LIFETIME")
    expiry.add_argument("--never-expires", action="store_true")
    create.add_argument("--database-url", help=db_help)
    create.set_defaults(func=_cmd_token_create)
    tls = api_token_sub.add_parser("list", help="list API tokens (never the tokens themselves)")
    tls.add_argument("--user", help="one account")
    tls.add_argument("--database-url", help=db_help)
    tls.set_defaults(func=_cmd_token_list)
    revoke = api_token_sub.add_parser("revoke", help="revoke an API token by id")
    revoke.add_argument("token_id", type=int)
    revoke.add_argument("--database-url", help=db_help)
    revoke.set_defaults(func=_cmd_token_revoke)
