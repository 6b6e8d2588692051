"""Normalise sampled meter values of every version into :class:`MeterSample` rows.

1.6 SampledValue (§7.45): ``value`` is a string; defaults are measurand
Energy.Active.Import.Register, unit Wh, context Sample.Periodic, location Outlet; ``format`` SignedData
means the value is a signed blob, kept verbatim. 2.x SampledValueType: ``value`` is a number,
``unitOfMeasure`` {unit (default Wh), multiplier (default 0)}, optional ``signedMeterValue`` kept as
raw JSON text. Defaults are stored explicitly so queries need not know which version reported a value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from csms.blocks.timefmt import station_time
from csms.domain.model import MeterSample

_DEFAULT_MEASURAND = "Energy.Active.Import.Register"
_DEFAULT_CONTEXT = "Sample.Periodic"
_DEFAULT_LOCATION = "Outlet"
_DEFAULT_UNIT = "Wh"


def sample_time(text: Any, received: datetime) -> datetime:
    """The timestamp of a meter value; one that cannot be read becomes the time it was received
    (see :func:`csms.blocks.timefmt.station_time`)."""
    return station_time(text, received)


def _number(raw: Any) -> float | None:
    """A 1.6 value as a finite float; None for one that is not a number or overflows ("1e999")."""
    try:
        value = float(raw)
    except (ValueError, TypeError):
        return None
    return value if math.isfinite(value) else None


def _scaled(raw: Any, multiplier: Any) -> float | None:
    """value × 10^multiplier as a finite float; None if that overflows (10^309 and beyond are no
    float). The raw value is stored either way."""
    try:
        value = float(raw) * 10.0 ** int(multiplier)
    except (OverflowError, ValueError, TypeError):
        return None
    return value if math.isfinite(value) else None


def samples_v16(
    meter_values: Iterable[dict[str, Any]], received: datetime
) -> tuple[MeterSample, ...]:
    """Flatten 1.6 ``meterValue`` entries into samples."""
    out: list[MeterSample] = []
    for entry in meter_values:
        stamp = sample_time(entry["timestamp"], received)
        for sv in entry["sampledValue"]:
            raw = sv["value"]
            signed = sv.get("format") == "SignedData"
            value = None if signed else _number(raw)
            out.append(
                MeterSample(
                    timestamp=stamp,
                    value=value,
                    raw_value=raw,
                    measurand=sv.get("measurand", _DEFAULT_MEASURAND),
                    phase=sv.get("phase"),
                    unit=sv.get("unit", _DEFAULT_UNIT),
                    context=sv.get("context", _DEFAULT_CONTEXT),
                    location=sv.get("location", _DEFAULT_LOCATION),
                    signed_data=raw if signed else None,
                )
            )
    return tuple(out)


def samples_v2(
    meter_values: Iterable[dict[str, Any]], received: datetime
) -> tuple[MeterSample, ...]:
    """Flatten 2.x ``meterValue`` entries into samples (value × 10^multiplier)."""
    out: list[MeterSample] = []
    for entry in meter_values:
        stamp = sample_time(entry["timestamp"], received)
        for sv in entry["sampledValue"]:
            raw = sv["value"]
            unit = sv.get("unitOfMeasure", {})
            multiplier = unit.get("multiplier", 0)
            signed = sv.get("signedMeterValue")
            out.append(
                MeterSample(
                    timestamp=stamp,
                    value=_scaled(raw, multiplier),
                    raw_value=repr(raw) if isinstance(raw, float) else str(raw),
                    measurand=sv.get("measurand", _DEFAULT_MEASURAND),
                    phase=sv.get("phase"),
                    unit=unit.get("unit", _DEFAULT_UNIT),
                    context=sv.get("context", _DEFAULT_CONTEXT),
                    location=sv.get("location", _DEFAULT_LOCATION),
                    signed_data=orjson.dumps(signed).decode() if signed else None,
                )
            )
    return tuple(out)
