"""The SOAP layer's one exception: a fault to answer with (SOAP 1.2 Part 1 §5.4)."""

from __future__ import annotations

from typing import Literal

FaultCode = Literal["Sender", "Receiver", "VersionMismatch", "MustUnderstand"]


class SoapFault(Exception):
    """Answer the request with this SOAP 1.2 Fault.

    ``code``: ``Sender`` (the request is at fault: malformed, unknown operation, schema violation,
    credentials), ``Receiver`` (csms is: storage outage, a bug), ``VersionMismatch`` (not a SOAP 1.2
    envelope) or ``MustUnderstand``. ``status`` is the HTTP status (SOAP 1.2 Part 2 §7.5.1.2: 400
    for Sender, 500 for Receiver; 401/403/429 where HTTP says more). ``reason`` is sent to the
    station and logged: never put a secret or a payload value in it. ``ocpp_code``: the OCPP
    error code of a CALLERROR the fault stands for.
    """

    def __init__(
        self,
        code: FaultCode,
        reason: str,
        *,
        status: int | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        ocpp_code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.ocpp_code = ocpp_code
        self.code: FaultCode = code
        self.reason = reason
        self.status = status if status is not None else (500 if code == "Receiver" else 400)
        self.headers = headers

    @property
    def ocpp_error_code(self) -> str:
        """The OCPP-J error code the fault stands for (the message log's CALLERROR): the
        handlers' code when they raised one, else FormationViolation (Sender) or InternalError."""
        if self.ocpp_code is not None:
            return self.ocpp_code
        return "InternalError" if self.code == "Receiver" else "FormationViolation"


def sender(
    reason: str, *, status: int = 400, headers: tuple[tuple[str, str], ...] = ()
) -> SoapFault:
    """A fault of the station's making."""
    return SoapFault("Sender", reason, status=status, headers=headers)


def retry_after(wait: float) -> tuple[tuple[str, str], ...]:
    """The ``Retry-After`` header of a 429/503: whole seconds, at least 1."""
    return (("Retry-After", str(max(1, int(wait + 0.999)))),)
