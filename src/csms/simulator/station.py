"""A simulated station's logic without I/O: state, configuration, and the per-version dialect.

:class:`SimStation` changes its state on the events of a charging session (plug in, start, sample,
stop, fault) and answers CSMS-initiated CALLs with :meth:`SimStation.answer`. The asyncio frontend
(:mod:`csms.simulator.agent`) sends what these methods return and runs the follow-ups.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from csms.messages import MessageValidator
from csms.messages.ocpp15 import Ocpp15Json
from csms.messages.soap.station import StationCodec
from csms.rpc.errors import CallErrorReply, ErrorCode
from csms.rpc.versions import OcppVersion
from csms.simulator import v2, v16
from csms.simulator.configuration import ConfigStore, v2_variables, v16_keys
from csms.simulator.dialect import Answer, Dialect, Payload, StopReason
from csms.simulator.state import Evse, StationState, Status, Transaction


def utc_now() -> datetime:
    """The wall clock in UTC."""
    return datetime.now(UTC)


# The simulator's name of OCPP 1.5 over JSON (``csms simulate --versions 1.5``).
OCPP15J = "1.5"
# Its names of OCPP over SOAP (``--versions 1.5s,1.6s``), and the version each speaks.
SOAP_VERSIONS = {"1.5s": "1.5", "1.6s": "1.6"}


@dataclass(frozen=True, slots=True)
class StationSpec:
    """How to build one simulated station."""

    identity: str
    version: OcppVersion
    evses: int = 2
    max_power_w: float = 11_000.0
    heartbeat_interval: float = 60.0
    meter_interval: float = 10.0
    # 2.x RetryBackOffWaitMinimum, RetryBackOffRandomRange, RetryBackOffRepeatTimes (Part 4 §8);
    # 1.6 stations use the same numbers for their randomised back-off.
    backoff: tuple[float, float, int] = (3.0, 5.0, 5)
    # Speak OCPP 1.5 over JSON ("ocpp1.5"): the 1.6 station (``version`` must be 1.6) whose
    # payloads its link maps to 1.5.
    json15: bool = False
    # Speak OCPP over SOAP, version "1.5" or "1.6" (ocpp1.5s, ocpp1.6s): the 1.6 station
    # (``version`` must be 1.6) whose SOAP link spells its messages for that version.
    soap: str | None = None


class SimStation:
    """The state and protocol logic of one simulated station."""

    def __init__(
        self,
        spec: StationSpec,
        *,
        validator: MessageValidator | None = None,
        clock: Callable[[], datetime] = utc_now,
        ocpp15: Ocpp15Json | None = None,
        soap_codec: StationCodec | None = None,
    ) -> None:
        if (spec.json15 or spec.soap) and spec.version is not OcppVersion.V16:
            raise ValueError("a 1.5J or SOAP station runs the 1.6 logic: give version 1.6")
        if spec.json15 and spec.soap:
            raise ValueError("a station speaks OCPP over JSON or over SOAP, not both")
        self.spec = spec
        self.identity = spec.identity
        self.version = spec.version
        # 1.5J: the schemas and mapping its link uses (shared by a fleet), else None.
        self.ocpp15 = (ocpp15 or Ocpp15Json()) if spec.json15 else None
        # SOAP: both services of its version, compiled once (shared by a fleet), else None.
        self.soap_codec: StationCodec | None = None
        if spec.soap is not None:
            if soap_codec is None or soap_codec.version != spec.soap:
                soap_codec = StationCodec(spec.soap, ocpp15=ocpp15)
            self.soap_codec = soap_codec
        self.protocol = (
            OCPP15J if spec.json15 else f"{spec.soap}s" if spec.soap else spec.version.value
        )
        self.clock = clock
        self.validator = validator or MessageValidator(spec.version)
        self.state = StationState(
            identity=spec.identity,
            evses={i: Evse(i, spec.max_power_w) for i in range(1, spec.evses + 1)},
        )
        self.dialect: Dialect = (
            v16.DIALECT if spec.version is OcppVersion.V16 else v2.dialect(spec.version)
        )
        self.config: ConfigStore = (
            v16_keys(
                connectors=spec.evses,
                heartbeat=spec.heartbeat_interval,
                meter_interval=spec.meter_interval,
            )
            if spec.version is OcppVersion.V16
            else v2_variables(
                identity=spec.identity,
                evses=spec.evses,
                heartbeat=spec.heartbeat_interval,
                meter_interval=spec.meter_interval,
                backoff=spec.backoff,
            )
        )
        # True while the CSMS cannot be reached (also before the first connection); transaction
        # messages made now are "offline" (2.x TransactionEvent offline flag).
        self.offline = True
        self.messages_in_queue = 0

    # ------------------------------------------------------------------ configuration

    @property
    def heartbeat_interval(self) -> float:
        """HeartbeatInterval (1.6 key; 2.x OCPPCommCtrlr), as set by BootNotification or the CSMS."""
        if self.version is OcppVersion.V16:
            return self.config.get_float("", "HeartbeatInterval", 60.0)
        return self.config.get_float("OCPPCommCtrlr", "HeartbeatInterval", 60.0)

    @heartbeat_interval.setter
    def heartbeat_interval(self, seconds: float) -> None:
        component = "" if self.version is OcppVersion.V16 else "OCPPCommCtrlr"
        self.config.set(component, "HeartbeatInterval", str(seconds), force=True)

    @property
    def meter_interval(self) -> float:
        """MeterValueSampleInterval (1.6) or SampledDataCtrlr.TxUpdatedInterval (2.x); 0 = off."""
        if self.version is OcppVersion.V16:
            return self.config.get_float("", "MeterValueSampleInterval", 0.0)
        return self.config.get_float("SampledDataCtrlr", "TxUpdatedInterval", 0.0)

    # ------------------------------------------------------------------ answering the CSMS

    def answer(self, action: str, payload: Payload) -> Answer:
        """Answer a CSMS-initiated CALL as a real station would.

        The request is checked against the official schema first (a station may reject messages
        that do not conform, 2.0.1 Part 4 §4.1.2).

        Raises:
            CallErrorReply: the CALLERROR to send (NotImplemented for an action the version does
                not have, NotSupported for one the station does not implement, or the schema
                violation's code).
        """
        info = self.validator.info(action)
        if info is None:
            raise CallErrorReply(ErrorCode.NOT_IMPLEMENTED, f"unknown action {action[:64]!r}")
        if not info.direction.to_station:
            raise CallErrorReply(ErrorCode.NOT_SUPPORTED, f"{action} is sent by stations")
        self.validator.validate_request(action, payload)
        handler = self.dialect.answers.get(action)
        if handler is None:
            raise CallErrorReply(ErrorCode.NOT_SUPPORTED, f"{action} is not supported")
        return handler(self, payload)

    # ------------------------------------------------------------------ charging sessions

    def plug_in(self, evse: Evse) -> None:
        """The driver plugs the cable in: Preparing until a transaction starts."""
        evse.plugged = True
        if evse.status in (Status.AVAILABLE, Status.RESERVED):
            evse.status = Status.PREPARING

    def unplug(self, evse: Evse) -> None:
        """The driver takes the cable out: the connector is free again."""
        evse.plugged = False
        if evse.status in (Status.FINISHING, Status.PREPARING):
            evse.status = Status.UNAVAILABLE if not evse.operative else Status.AVAILABLE

    def begin_transaction(
        self, evse: Evse, id_tag: str, now: float, *, remote_start_id: int | None = None
    ) -> Transaction:
        """Start a transaction and let energy flow (the EV starts charging at once)."""
        evse.meter.advance(now)
        tx = Transaction(
            transaction_id=str(uuid.uuid4()),
            evse_id=evse.id,
            id_tag=id_tag,
            started_at=self.clock(),
            meter_start_wh=evse.meter.register_wh,
            remote_start_id=remote_start_id,
            offline_started=self.offline,
        )
        if evse.reservation is not None and evse.reservation.id_tag == id_tag:
            evse.reservation = None
        evse.transaction = tx
        evse.plugged = True
        evse.status = Status.CHARGING
        evse.meter.set_power(evse.effective_power(), now)
        return tx

    def end_transaction(self, evse: Evse, now: float) -> Transaction | None:
        """Stop the energy flow and forget the transaction; the cable stays in (Finishing)."""
        tx = evse.transaction
        evse.meter.set_power(0.0, now)
        evse.transaction = None
        if evse.status is not Status.FAULTED:
            evse.status = Status.FINISHING if evse.plugged else Status.AVAILABLE
        if evse.pending_inoperative:
            evse.pending_inoperative = False
            evse.operative = False
        return tx

    def settle(self, evse: Evse) -> None:
        """After unplugging: Available, or Unavailable if made inoperative meanwhile."""
        evse.plugged = False
        if evse.status is not Status.FAULTED:
            evse.status = Status.AVAILABLE if evse.operative else Status.UNAVAILABLE

    def fault(self, evse: Evse, error_code: str) -> None:
        """A hardware fault: no power, Faulted until :meth:`recover`."""
        evse.error_code = error_code
        evse.status = Status.FAULTED

    def recover(self, evse: Evse) -> None:
        """The fault cleared."""
        evse.error_code = None
        evse.status = Status.AVAILABLE if evse.operative else Status.UNAVAILABLE

    def power_cycle(self) -> list[tuple[Evse, Transaction]]:
        """Lose power: running transactions are interrupted (their meters stop)."""
        interrupted = []
        for evse in self.state.evses.values():
            if evse.transaction is not None:
                interrupted.append((evse, evse.transaction))
            evse.meter.power_w = 0.0
            evse.meter.last = None
        return interrupted

    @staticmethod
    def stop_reason_for_reset(hard: bool) -> StopReason:
        """1.6 HardReset/SoftReset; 2.x spells both ImmediateReset (see the dialect)."""
        return StopReason.HARD_RESET if hard else StopReason.SOFT_RESET
