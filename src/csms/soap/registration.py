"""Unknown SOAP stations: CSMS_UNKNOWN_STATIONS, as on the WebSocket endpoint.

A ``chargeBoxIdentity`` that is not registered is, by the policy (``csms serve
--unknown-stations``):

* ``reject`` (the default): a Sender fault with HTTP 404;
* ``pending`` / ``accept``: registered with that status, as the WebSocket handshake does
  (:mod:`csms.server.listener`): under security profile 1 or 2 the first password it presents
  (HTTP Basic auth, username = the identity) becomes its own (trust on first use; missing or weak:
  401), the identity must be a valid OCPP identity (1.6-J §3.1.1 rules, :mod:`csms.domain.identity`),
  registrations are paced per process and per address (CSMS_REGISTRATION_RATE/BURST,
  CSMS_REGISTRATIONS_PER_ADDRESS: 429 with Retry-After) and at most
  CSMS_MAX_PENDING_REGISTRATIONS stations wait Pending (503).

Every refusal of an unknown identity spends the address's budget for unknown identities
(CSMS_UNKNOWN_IDENTITY_FAILURES_PER_ADDRESS; then 429); the gateway logs every fault through the
admission's rate-limited log (10 lines per kind and window, then a count).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from csms.config import ServerSettings
from csms.domain.errors import StorageError
from csms.domain.identity import is_valid_identity
from csms.domain.model import RegistrationStatus, Station, UnknownStationPolicy
from csms.domain.ports import StationRepository
from csms.messages.soap.errors import SoapFault, retry_after, sender
from csms.server.admission import Admission, first_use_password_hash

_UNAUTHORIZED = (("WWW-Authenticate", 'Basic realm="csms", charset="UTF-8"'),)


class SelfRegistration:
    """Registers unknown SOAP stations under the ``pending`` and ``accept`` policies."""

    def __init__(
        self,
        settings: ServerSettings,
        *,
        stations: StationRepository,
        admission: Admission,
        clock: Callable[[], datetime],
    ) -> None:
        self._settings = settings
        self._stations = stations
        self._admission = admission
        self._clock = clock
        # Held while the Pending stations are counted and one is added: the cap holds.
        self._registering = asyncio.Lock()

    async def register(self, identity: str, password: bytes | None, address: str) -> Station:
        """Register ``identity`` by the policy and return it.

        Raises:
            SoapFault: 401 (no usable first password), 404 (not a valid identity), 429 (a budget
                spent), 503 (too many Pending stations, or storage unavailable).
        """
        if not is_valid_identity(identity):
            raise self.refuse(address, 404)
        password_hash = None
        if self._settings.security_profile >= 1:
            # Trust on first use: the first password an unknown station presents becomes its own.
            password_hash = first_use_password_hash(password)
            if password_hash is None:
                raise self.refuse(address, 401)
        refusals = self._admission.refusals
        if wait := self._admission.registration_wait(identity, address, "SOAP "):
            raise sender(
                "too many new stations; try again later", status=429, headers=retry_after(wait)
            )
        status = (
            RegistrationStatus.ACCEPTED
            if self._settings.unknown_stations is UnknownStationPolicy.ACCEPT
            else RegistrationStatus.PENDING
        )
        station = Station(
            id=identity,
            registration_status=status,
            password_hash=password_hash,
            created_at=self._clock(),
        )
        try:
            if status is RegistrationStatus.PENDING:
                async with self._registering:
                    await self._pending_cap(identity, address)
                    await self._stations.add(station)
            else:
                await self._stations.add(station)
        except StorageError:
            # Two first requests raced (the other one registered it), or storage failed.
            return await self._existing(identity, password)
        refusals.log(
            logging.INFO,
            "soap self-registration",
            "unknown SOAP station %r from %s registered as %s",
            identity,
            address,
            status.value,
        )
        return station

    async def _existing(self, identity: str, password: bytes | None) -> Station:
        try:
            existing = await self._stations.get(identity)
        except StorageError as exc:
            self._admission.refusals.log(
                logging.ERROR,
                "storage unavailable",
                "SOAP station registration failed for %r",
                identity,
                exc=exc,
            )
            raise SoapFault("Receiver", "storage unavailable; retry later", status=503) from None
        if existing is None:
            raise SoapFault("Receiver", "storage unavailable; retry later", status=503)
        return existing  # the caller authenticates it like any registered station

    async def _pending_cap(self, identity: str, address: str) -> None:
        """503 if CSMS_MAX_PENDING_REGISTRATIONS stations are Pending already."""
        try:
            pending = await self._stations.count(registration_status=RegistrationStatus.PENDING)
        except StorageError as exc:
            self._admission.refusals.log(
                logging.WARNING, "storage unavailable", "could not count Pending stations: %s", exc
            )
            raise SoapFault("Receiver", "storage unavailable; retry later", status=503) from None
        if pending < self._settings.max_pending_registrations:
            return
        self._admission.refusals.log(
            logging.WARNING,
            "pending registration cap",
            "unknown SOAP station %r from %s refused (503): %d stations are Pending "
            "(CSMS_MAX_PENDING_REGISTRATIONS); accept or reject some",
            identity,
            address,
            pending,
        )
        raise SoapFault(
            "Receiver",
            "too many stations await registration; try again later",
            status=503,
            headers=retry_after(self._settings.boot_retry_interval),
        )

    def refuse(self, address: str, status: int) -> SoapFault:
        """The fault for an unknown (or decommissioned) identity: 404, or 401 for an unusable
        first password; 429 once the address spent its budget for unknown identities."""
        # Logged (rate-limited) with every other fault by the gateway.
        if wait := self._admission.throttle.unknown_identity(address):
            return sender(
                "too many requests for unknown stations", status=429, headers=retry_after(wait)
            )
        if status == 401:
            return sender(
                "authentication failed: a new station's first password must be given (HTTP Basic "
                "auth, the chargeBoxIdentity as username) and strong enough",
                status=401,
                headers=_UNAUTHORIZED,
            )
        return sender("unknown charging station", status=404)
