"""What a load test does: the fleet, its versions and message mix, timing and retry policy."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

# 1.5: OCPP 1.5 over JSON ("ocpp1.5"); 1.5s, 1.6s: OCPP over SOAP (csms.loadtest.soap).
VERSIONS = ("1.5", "1.6", "2.0.1", "2.1", "1.5s", "1.6s")
SOAP = ("1.5s", "1.6s")
# Where csms serves OCPP over SOAP unless told otherwise (CSMS_SOAP_PORT's default).
DEFAULT_SOAP_PORT = 9001
# Irrational strides spread the deterministic per-index choices evenly over the fleet.
_VERSION_STRIDE = 0.6180339887498949
_CHARGING_STRIDE = 0.7548776662466927


class ConfigError(ValueError):
    """An option value that cannot work."""


@dataclass(frozen=True)
class Target:
    """Where the stations connect: ``{scheme}://{host}:{port}{path}/{station id}``."""

    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """Parse ``ws://host[:port]/path`` or ``wss://...`` (the station id is appended)."""
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ConfigError(f"not a ws:// or wss:// URL: {url!r}")
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        """The Host header value (RFC 7230 §5.4)."""
        default = 443 if self.scheme == "wss" else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def parse_version_mix(text: str) -> tuple[tuple[str, float], ...]:
    """Parse ``1.6=50,2.0.1=30,2.1=20`` (weights, normalised) or a single version ``2.0.1``."""
    mix: list[tuple[str, float]] = []
    for item in text.split(","):
        name, _, weight = item.strip().partition("=")
        if name not in VERSIONS:
            raise ConfigError(f"unknown OCPP version {name!r}; choose from {', '.join(VERSIONS)}")
        try:
            value = float(weight) if weight else 1.0
        except ValueError as exc:
            raise ConfigError(f"bad weight in {item!r}") from exc
        if value < 0:
            raise ConfigError(f"negative weight in {item!r}")
        mix.append((name, value))
    total = sum(w for _, w in mix)
    if total <= 0:
        raise ConfigError("the version mix has no positive weight")
    return tuple((name, w / total) for name, w in mix)


def version_for(index: int, mix: tuple[tuple[str, float], ...]) -> str:
    """The OCPP version station ``index`` speaks: deterministic, proportional to the weights."""
    point = (index * _VERSION_STRIDE) % 1.0
    cumulative = 0.0
    for name, weight in mix:
        cumulative += weight
        if point < cumulative:
            return name
    return mix[-1][0]


def is_charging(index: int, fraction: float) -> bool:
    """Whether station ``index`` runs charging sessions (a ``fraction`` of the fleet does)."""
    return (index * _CHARGING_STRIDE) % 1.0 < fraction


@dataclass(frozen=True)
class LoadConfig:
    """All parameters of a run; plain values so that it pickles to worker processes."""

    url: str
    stations: int = 100
    rate: float = 200.0
    versions: tuple[tuple[str, float], ...] = (("1.6", 1.0),)
    charging: float = 0.0
    heartbeat_interval: float | None = None
    meter_interval: float = 60.0
    session_length: float = 600.0
    start_stop_16: bool = True
    connectors: int = 1
    duration: float = 60.0
    warmup: float = 0.0
    # Seconds the measured window lasts (None: until the end); a storm after it stays out of it.
    measure_for: float | None = None
    storm_after: float | None = None
    call_timeout: float = 30.0
    open_timeout: float = 30.0
    retry_wait_min: float = 1.0
    retry_random_range: float = 2.0
    retry_repeat: int = 3
    boot_retry_default: float = 10.0
    # Wait a 503/429 upgrade answer's Retry-After before the next attempt (as many chargers do).
    honour_retry_after: bool = True
    id_pattern: str = "lt-{n:06d}"
    password: str | None = None
    password_secret: str = "csms-bench"
    auth: bool = True
    per_address: int = 10_000
    source_addresses: tuple[str, ...] = ()
    insecure: bool = False
    seed: int = 1
    # The CentralSystemService URL of the SOAP stations (None: see soap_target()).
    soap_url: str | None = None

    @property
    def has_json(self) -> bool:
        """True when some stations speak OCPP-J (over the WebSocket URL)."""
        return any(name not in SOAP and w > 0 for name, w in self.versions)

    @property
    def has_soap(self) -> bool:
        """True when some stations speak OCPP over SOAP."""
        return any(name in SOAP and w > 0 for name, w in self.versions)

    def soap_target(self) -> str:
        """The SOAP stations' URL: ``soap_url``, else ``url`` if http(s)://, else http(s):// on
        the URL's host at csms's default SOAP port."""
        if self.soap_url:
            return self.soap_url
        parts = urlsplit(self.url)
        if parts.scheme in ("http", "https"):
            return self.url
        host = parts.hostname or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if parts.scheme == "wss" else "http"
        return f"{scheme}://{host}:{DEFAULT_SOAP_PORT}/"

    def check(self) -> None:
        """Raise :class:`ConfigError` for values that cannot work."""
        if self.has_json:
            Target.parse(self.url)
        if self.has_soap and urlsplit(self.soap_target()).scheme not in ("http", "https"):
            raise ConfigError(f"not an http:// or https:// SOAP URL: {self.soap_target()!r}")
        if self.stations < 1:
            raise ConfigError("--stations must be at least 1")
        if self.rate <= 0:
            raise ConfigError("--rate must be positive")
        if not 0.0 <= self.charging <= 1.0:
            raise ConfigError("--charging is a fraction between 0 and 1")
        if self.meter_interval <= 0 or self.session_length < 0:
            raise ConfigError("--meter-interval must be positive, --session-length >= 0")
        if self.heartbeat_interval is not None and self.heartbeat_interval <= 0:
            raise ConfigError("--heartbeat-interval must be positive")
        if self.connectors < 1:
            raise ConfigError("--connectors must be at least 1")
        if self.duration <= 0 or self.warmup < 0 or self.warmup >= self.duration:
            raise ConfigError("need 0 <= --warmup < --duration")
        if self.measure_for is not None and self.measure_for <= 0:
            raise ConfigError("--measure-for must be positive")
        if self.per_address < 1:
            raise ConfigError("--stations-per-address must be positive")
        try:
            self.station_id(0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"bad --id-pattern {self.id_pattern!r}: {exc}") from exc

    def station_id(self, index: int) -> str:
        """The identity of station ``index`` (``{n}`` in the pattern is the index)."""
        return self.id_pattern.format(n=index)

    def to_dict(self) -> dict[str, Any]:
        """The options as recorded in the JSON report (the password pattern is not recorded)."""
        data = dataclasses.asdict(self)
        data["password"] = None if self.password is None else "<pattern>"
        data["password_secret"] = "<secret>"
        data["versions"] = {name: round(w, 4) for name, w in self.versions}
        return data
