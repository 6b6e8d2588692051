"""Domain exceptions, translated at each boundary (CALLERROR in ``server``, problem JSON in ``api``).

::

    DomainError
     ├── UnknownStation          no such station is registered
     ├── StationNotConnected     the station has no live OCPP session (commands are never queued)
     ├── StationBusy             too many commands already wait for this station
     ├── CommandNotAllowed       the registration state forbids this command (1.6 §4.2; B03)
     ├── InvalidPayload          the payload is not valid for the station's OCPP version
     ├── CallTimeout             the station did not answer in time
     ├── CallOutcomeUnknown      the connection dropped while the command was on the wire
     ├── CallFailed              the station answered with a CALLERROR
     ├── StorageError            persistence failed; nothing was acknowledged
     ├── CertificateRequestRejected  the certificate authority refused a CSR
     ├── Iso15118ProviderFailure  the ISO 15118 certificate provider could not answer
     ├── UnknownFile             no such firmware image, file request or upload (or its URL expired)
     ├── FileTooLarge            an upload exceeds the configured size limit
     ├── UnknownTransaction      no such transaction
     ├── TransactionNotOpen      the transaction is already closed
 ├── AmbiguousTransaction    the id names transactions of several stations (give the station)
     ├── UnknownReservation      no such reservation
     └── UnknownIdToken          no such id token
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the domain exception tree."""


class UnknownStation(DomainError):
    """No station with this identity is registered."""


class StationNotConnected(DomainError):
    """The station is not connected; OCPP has no command queue for offline stations (2.0.1 Part 4
    §6.3), so the command is refused at once rather than replayed later."""


class StationBusy(DomainError):
    """The station's bounded queue of CSMS-initiated CALLs is full."""


class CommandNotAllowed(DomainError):
    """The station's registration state forbids this command (e.g. RemoteStart while Pending)."""


class InvalidPayload(DomainError):
    """A payload failed validation against the official schema of the station's version."""

    def __init__(self, description: str, *, code: str = "", path: str = "") -> None:
        super().__init__(description)
        self.description = description
        self.code = code
        self.path = path


class NotSupportedByVersion(InvalidPayload):
    """The command (or one of its options) does not exist in the station's OCPP version, e.g. a
    2.x-only command to a 1.6 station: refused before anything is sent (the API's 422
    ``not-supported-by-version``)."""

    def __init__(self, description: str, *, path: str = "") -> None:
        super().__init__(description, code="NotSupported", path=path)


class CallTimeout(DomainError):
    """The station did not answer the CALL within the response timeout."""


class CallOutcomeUnknown(DomainError):
    """The connection dropped while the CALL was on the wire: it may or may not have been applied."""


class CallFailed(DomainError):
    """The station answered with a CALLERROR."""

    def __init__(self, code: str, description: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {description}" if description else code)
        self.code = code
        self.description = description
        self.details = details or {}


class StorageError(DomainError):
    """The database could not persist a change; the caller must not acknowledge it."""


class CertificateRequestRejected(DomainError):
    """The certificate authority refused a station's CSR (malformed, bad signature, wrong subject)."""


class Iso15118ProviderFailure(DomainError):
    """The ISO 15118 certificate provider could not answer (the station gets ``Failed``).

    ``reason`` becomes statusInfo.reasonCode (at most 20 characters); ``detail`` is logged and sent
    as additionalInfo.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason[:20]
        self.detail = detail


class UnknownFile(DomainError):
    """No such firmware image, file request or received file, or its URL is no longer valid."""


class FileTooLarge(DomainError):
    """An upload is larger than the configured limit; nothing of it is kept."""


class UnknownTransaction(DomainError):
    """No transaction with this id exists."""


class TransactionNotOpen(DomainError):
    """The transaction is already closed; an operator cannot close it again."""


class UnknownReservation(DomainError):
    """No reservation with this id exists."""


class UnknownIdToken(DomainError):
    """No id token with this value is registered."""


class AmbiguousTransaction(DomainError):
    """A transaction id names transactions of several stations (a 1.6 id and a 2.x transactionId
    may look alike, and 2.x ids are only unique per station): the caller must name the station."""
