"""Settings: one tree of frozen dataclasses, read once from the environment and the command line.

Nothing reads ``os.environ`` at import time; :func:`load_settings` takes the environment as a mapping
and the CLI overrides fields from its flags. Every field has a ``CSMS_*`` environment name.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

from csms.domain.api_credentials import MIN_TOKEN_LENGTH
from csms.domain.model import UnknownStationPolicy


class SettingsError(ValueError):
    """A setting has a value csms cannot use; the message names the setting."""


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The OCPP WebSocket endpoint (station gateway)."""

    host: str = "127.0.0.1"  # CSMS_HOST
    port: int = 9000  # CSMS_PORT
    # Security profile (1.6 security whitepaper §2; 2.0.1 A00): 0 = no station authentication (labs and
    # trusted networks only), 1 = HTTP Basic auth, 2 = TLS + Basic auth, 3 = TLS with client
    # certificates (see the security profile 3 block below).
    security_profile: int = 1  # CSMS_SECURITY_PROFILE
    tls_cert: str | None = None  # CSMS_TLS_CERT
    tls_key: str | None = None  # CSMS_TLS_KEY
    unknown_stations: UnknownStationPolicy = UnknownStationPolicy.REJECT  # CSMS_UNKNOWN_STATIONS
    # Largest accepted message, after decompression; bigger ones close the connection with 1009.
    max_message_size: int = 1024 * 1024  # CSMS_MAX_MESSAGE_SIZE
    # Offer permessage-deflate (2.0.1 Part 4 §3.3 requires the CSMS to support it).
    compression: bool = True  # CSMS_COMPRESSION
    # Server pings detect dead peers (OCPP-J 1.6 §7; errata 3.9). None disables them.
    ping_interval: float | None = 60.0  # CSMS_PING_INTERVAL
    ping_timeout: float | None = 30.0  # CSMS_PING_TIMEOUT
    # Time a peer has to answer our close frame; a dead peer is dropped after ping_interval +
    # ping_timeout + close_timeout.
    close_timeout: float = 5.0  # CSMS_CLOSE_TIMEOUT
    # Pending TCP connections the kernel queues until csms accepts them (capped by
    # net.core.somaxconn). asyncio's default of 100 overflows when a fleet reconnects at once: the
    # dropped SYNs are retried by the stations' kernels after 1, 3, 7, 15 s, stretching the storm.
    listen_backlog: int = 4096  # CSMS_LISTEN_BACKLOG
    # Time a client has to complete the opening handshake (slowloris protection).
    open_timeout: float = 10.0  # CSMS_OPEN_TIMEOUT
    # Seconds to wait for a station's reply to a CSMS-initiated CALL (OCPP-J 1.6 §4.1.1).
    call_timeout: float = 30.0  # CSMS_CALL_TIMEOUT
    # CSMS-initiated CALLs that may wait behind the outstanding one, per station.
    max_queued_calls: int = 16  # CSMS_MAX_QUEUED_CALLS
    # A second connection for a connected identity: the live one is pinged and, if it answers
    # within this many seconds, the newcomer is refused; otherwise the newcomer replaces it.
    duplicate_probe_timeout: float = 5.0  # CSMS_DUPLICATE_PROBE_TIMEOUT
    # --- Handshake throttle and self-registration (server/admission.py; docs/behaviour.md
    # "Handshake throttle"). A right password is never throttled. Budgets are per window; an
    # "address" is one IPv4 address or one IPv6 /64.
    # Wrong passwords per address and per registered identity (from any address); then 429.
    auth_failures_per_address: int = 20  # CSMS_AUTH_FAILURES_PER_ADDRESS
    auth_failures_per_identity: int = 5  # CSMS_AUTH_FAILURES_PER_IDENTITY
    auth_failure_window: float = 60.0  # CSMS_AUTH_FAILURE_WINDOW
    # Refused requests for unregistered identities per address (a budget of their own); then 429.
    unknown_identity_failures_per_address: int = 20  # CSMS_UNKNOWN_IDENTITY_FAILURES_PER_ADDRESS
    # Self-registrations (--unknown-stations pending|accept): per second per process with a burst,
    # and per address per window; beyond them 429. Rate 0 = no pacing (load tests on a lab csms).
    registration_rate: float = 2.0  # CSMS_REGISTRATION_RATE
    registration_burst: int = 20  # CSMS_REGISTRATION_BURST
    registrations_per_address: int = 10  # CSMS_REGISTRATIONS_PER_ADDRESS
    # Stations in Pending at most; a self-registration beyond it gets 503 (pending policy).
    max_pending_registrations: int = 1000  # CSMS_MAX_PENDING_REGISTRATIONS
    # --- end of handshake throttle
    # BootNotification interval for accepted stations (Heartbeat interval) and for Pending/Rejected
    # (minimum wait before the next BootNotification; 1.6 §4.2).
    heartbeat_interval: int = 300  # CSMS_HEARTBEAT_INTERVAL
    boot_retry_interval: int = 60  # CSMS_BOOT_RETRY_INTERVAL
    # Reconnect storms: accept at most this many BootNotifications per second and answer the others
    # Pending with a randomised interval (blocks/provisioning/pacing.py). 0 = no pacing.
    boot_pacing_rate: float = 0.0  # CSMS_BOOT_PACING_RATE
    # Vendor handlers of station-initiated DataTransfer: "vendorId=module:attribute,..."
    # (csms.blocks.datatransfer.loading; installed "csms.data_transfer" entry points load too).
    data_transfer_handlers: str | None = None  # CSMS_DATA_TRANSFER_HANDLERS
    # --- Connection limits and TLS (issue 7 findings 3 and 9; server/limits.py, server/tls.py) ---
    # Station connections open at once, handshakes included; more are closed at accept. 0: the
    # open-files limit (raised to its hard limit at start-up) less a reserve of a tenth, 256 to 2,048
    # descriptors, for the HTTP API, the database and files.
    max_connections: int = 0  # CSMS_MAX_CONNECTIONS
    # Connections from one address (IPv6: one /64) in their TLS/HTTP handshake at once; more are
    # closed at accept. CSMS_OPEN_TIMEOUT bounds each handshake from TCP accept on.
    max_handshakes_per_address: int = 128  # CSMS_MAX_HANDSHAKES_PER_ADDRESS
    # Networks the per-address handshake limit does not apply to, comma-separated: by default
    # loopback, where a TLS-terminating proxy on the same host presents every station. "" = none.
    handshake_limit_exempt: str = "127.0.0.0/8,::1/128"  # CSMS_HANDSHAKE_LIMIT_EXEMPT
    # A second server certificate of the other key type (RSA and ECDSA; OCPP A00.FR.317 note), so
    # stations of either kind connect. OpenSSL picks the one the client can verify.
    tls_cert2: str | None = None  # CSMS_TLS_CERT2
    tls_key2: str | None = None  # CSMS_TLS_KEY2
    # Protocol violations (issue 7 finding 5): a station that breaks the protocol this many times
    # within the window (malformed frames, CALLERRORs for unknown actions, schema violations or
    # CALLs before an Accepted boot, invalid CALLRESULTs, ...; docs/behaviour.md) is closed with
    # 1008.
    max_protocol_violations: int = 50  # CSMS_MAX_PROTOCOL_VIOLATIONS
    protocol_violation_window: float = 60.0  # CSMS_PROTOCOL_VIOLATION_WINDOW (seconds)
    # --- ISO 15118 certificates (blocks/security/iso15118.py, pki/iso15118.py; docs/behaviour.md
    # "ISO 15118 certificates"). Who answers Get15118EVCertificate and GetCertificateStatus: none
    # (Failed, reasonCode NoProvider), builtin (OCSP by the V2G root in <data_dir>/v2g, EXI
    # responses pre-encoded in iso15118_exi_dir) or module:attribute of a provider or its factory.
    iso15118_provider: str = "none"  # CSMS_ISO15118_PROVIDER
    iso15118_exi_dir: str | None = None  # CSMS_ISO15118_EXI_DIR (builtin only)
    # --- end of ISO 15118 certificates
    # --- Security profile 3 and station certificates (issue 8 block A; server/tls.py,
    # server/client_certificates.py, blocks/security/signer_loading.py; docs/behaviour.md
    # "Security profile 3"). PEM bundle of the CAs that issue station (TLS client) certificates.
    # Profile 3: every station presents one (default: the built-in CA, <data_dir>/ca/ca-cert.pem).
    # Profile 2 with it set: mixed mode, a station may present one (it is then on profile 3).
    tls_client_ca: str | None = None  # CSMS_TLS_CLIENT_CA
    # The operator's name; when set, a station certificate's O must equal it (A00.FR.404).
    tls_organization: str | None = None  # CSMS_TLS_ORGANIZATION
    # Who signs stations' ChargingStationCertificate CSRs (A02/A03): builtin (<data_dir>/ca) or
    # module:attribute of a signer or its factory. V2G CSRs always go to the V2G root.
    certificate_signer: str = "builtin"  # CSMS_CERTIFICATE_SIGNER
    # --- end of security profile 3
    # --- Authorization and transactions (issue 8 blocks C/E; storage/token_view.py,
    # docs/behaviour.md "2.x transactions"). False: a 2.x TransactionEvent Started whose idToken
    # is in another open transaction is answered ConcurrentTx ("multiple transactions are not
    # allowed", 2.0.1 AuthorizationStatusEnumType), like a 1.6 StartTransaction. True: a token may
    # run several 2.x transactions at once (Part 6's reusable states start every EVSE with the one
    # valid_idtoken and expect Accepted).
    concurrent_transactions: bool = False  # CSMS_CONCURRENT_TRANSACTIONS
    # --- end of authorization and transactions
    # --- Tariffs and cost (issue 8 block I; blocks/tariff/, docs/behaviour.md "Tariffs and
    # cost"). Seconds between rounds of CostUpdated to 2.x stations with a running priced
    # transaction whose total changed since they were last told (0: never send CostUpdated;
    # the driver still gets the running cost in each TransactionEventResponse). At most
    # cost_update_concurrency CostUpdated CALLs are outstanding at once.
    cost_update_interval: float = 60.0  # CSMS_COST_UPDATE_INTERVAL
    cost_update_concurrency: int = 8  # CSMS_COST_UPDATE_CONCURRENCY
    # --- end of tariffs and cost
    # --- ISO 15118 smart charging (issue 8 K15-K17; blocks/smartcharging/ev_schedule.py,
    # domain/ev_charging.py; docs/behaviour.md "ISO 15118 smart charging"). True: an EV's
    # NotifyEVChargingNeeds during a 2.x transaction is Accepted and answered with a TxProfile
    # planned within the EVSE's installed limits; False: Rejected (NoSchedule), the station
    # applies the profiles it has.
    ev_charging_schedules: bool = True  # CSMS_EV_CHARGING_SCHEDULES
    # The stackLevel of that TxProfile (an operator's TxProfile above it prevails).
    ev_schedule_stack_level: int = 0  # CSMS_EV_SCHEDULE_STACK_LEVEL
    # --- end of ISO 15118 smart charging
    # --- OCPP message log and operations (issue 9 items 7 and 9; docs/behaviour.md "OCPP message
    # log"). Every frame in and out, one row per CALL and its answer (direction, action, message
    # id, latency, outcome, sizes, both frames with secrets masked), searchable at
    # /api/v1/messages; written in batches by one task off the stations' path: past
    # message_log_queue waiting frames new ones are dropped and counted.
    message_log: bool = True  # CSMS_MESSAGE_LOG (on/off)
    message_log_payloads: bool = True  # CSMS_MESSAGE_LOG_PAYLOADS: keep payloads (masked)
    # Retention, applied every message_log_prune_interval seconds: rows older than max_age go,
    # and the oldest while there are more than max_rows rows or max_bytes bytes of frames.
    message_log_max_age: float = 7 * 24 * 3600.0  # CSMS_MESSAGE_LOG_MAX_AGE (seconds)
    message_log_max_rows: int = 1_000_000  # CSMS_MESSAGE_LOG_MAX_ROWS
    message_log_max_bytes: int = 512 * 1024 * 1024  # CSMS_MESSAGE_LOG_MAX_BYTES
    message_log_queue: int = 20_000  # CSMS_MESSAGE_LOG_QUEUE (frames)
    message_log_prune_interval: float = 60.0  # CSMS_MESSAGE_LOG_PRUNE_INTERVAL (seconds)
    # /readyz checks the database with SELECT 1 within this many seconds; the answer is reused
    # for readiness_cache seconds, so probes cannot load the database.
    readiness_timeout: float = 2.0  # CSMS_READINESS_TIMEOUT
    readiness_cache: float = 1.0  # CSMS_READINESS_CACHE
    # --- end of message log and operations
    # --- OCPP over SOAP (issue 12; csms/soap/, docs/behaviour.md "OCPP over SOAP"). A second
    # endpoint on CSMS_HOST for ocpp1.5s/ocpp1.6s stations (CentralSystemService), off by default.
    # TLS and Basic auth as on the WebSocket port (CSMS_TLS_CERT/KEY, CSMS_SECURITY_PROFILE).
    soap_enabled: bool = False  # CSMS_SOAP_ENABLED
    soap_port: int = 9001  # CSMS_SOAP_PORT
    # Largest request body read (Content-Length or streamed); bigger ones get 413 unparsed.
    soap_max_message_size: int = 64 * 1024  # CSMS_SOAP_MAX_MESSAGE_SIZE
    # A SOAP station is online while its last call is at most CSMS_HEARTBEAT_INTERVAL plus this
    # many seconds old.
    soap_presence_grace: float = 60.0  # CSMS_SOAP_PRESENCE_GRACE
    # --- end of OCPP over SOAP
    # --- OCPP 1.5 over JSON (issue 12; csms/messages/ocpp15/, docs/behaviour.md "OCPP 1.5 over
    # JSON"): accept the unofficial "ocpp1.5" WebSocket subprotocol beside 1.6/2.0.1/2.1.
    ocpp15_json: bool = True  # CSMS_OCPP15_JSON
    # --- end of OCPP 1.5 over JSON
    # --- Per-process cost (issue 11 item 5; server/saturation.py, docs/behaviour.md "Handshake
    # admission under load", docs/performance.md). While the process is saturated, new station
    # connections are answered 503 with Retry-After (CSMS_SHED_RETRY_AFTER to twice that, seconds)
    # before any storage is touched: when CSMS_MAX_HANDSHAKES handshakes are in progress, or the
    # event loop is more than CSMS_MAX_LOOP_LAG seconds behind. 0 turns either signal off.
    max_handshakes: int = 500  # CSMS_MAX_HANDSHAKES
    max_loop_lag: float = 2.0  # CSMS_MAX_LOOP_LAG (seconds)
    shed_retry_after: int = 5  # CSMS_SHED_RETRY_AFTER (seconds)
    # --- Handshake admission: backpressure before accept (issue 11 item 5, task s12_admission;
    # server/saturation.py, docs/behaviour.md "Handshake admission under load"). While saturated,
    # or while CSMS_MAX_PENDING_HANDSHAKES connections are accepted and not yet upgraded, accept()
    # waits: new connections stay in the kernel's listen backlog. 0: twice CSMS_MAX_HANDSHAKES.
    max_pending_handshakes: int = 0  # CSMS_MAX_PENDING_HANDSHAKES
    # Handshakes waiting in the station read (a pooled database connection, or the read) at which
    # the process counts as saturated; 0 turns the signal off.
    max_handshake_reads: int = 32  # CSMS_MAX_HANDSHAKE_READS
    # --- end of handshake admission: backpressure before accept
    # Move every object alive after start-up (modules, schemas, routes: ~200,000) out of the
    # garbage collector's reach with gc.freeze(), so full collections walk only the stations';
    # and the sessions' objects after each burst of connections (server/gcfreeze.py).
    gc_freeze: bool = True  # CSMS_GC_FREEZE (on/off)
    # --- end of per-process cost
    # --- Workers (issue 11 item 1: `csms serve --workers N`; cli_workers.py, docs/deployment.md
    # "Workers on one host", docs/behaviour.md "Workers"). N > 1: a supervisor starts N csms
    # processes (cluster nodes: CSMS_CLUSTER_URL and PostgreSQL needed) that each bind the OCPP,
    # SOAP and API ports with SO_REUSEPORT (Linux), so the kernel spreads connections over them.
    workers: int = 1  # CSMS_WORKERS (1: one process, as without the setting)
    # Bind the listening ports with SO_REUSEPORT, so several csms processes (the workers, or an old
    # and a new one during a rolling restart) share them. Set by the supervisor for its workers.
    reuse_port: bool = False  # CSMS_REUSE_PORT (Linux only)
    # Seconds the supervisor gives a worker to stop after SIGTERM (close its sessions, drain its
    # committer) before it kills it (task s12_admission: 1,400-15,000 sessions need more than 30).
    worker_stop_timeout: float = 60.0  # CSMS_WORKER_STOP_TIMEOUT
    # --- end of workers
    # --- Graceful stop (issue 11, task s13_stop; docs/behaviour.md "Stopping"): on SIGTERM the
    # sessions are closed with 1001 at most this many at a time, a station that does not answer
    # the close frame within the stop's close timeout is aborted, and the disconnects of all of
    # them are written at the end in a few statements.
    stop_close_batch: int = 1000  # CSMS_STOP_CLOSE_BATCH
    stop_close_timeout: float = 1.0  # CSMS_STOP_CLOSE_TIMEOUT
    # --- end of graceful stop


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    """Where csms stores its state."""

    # sqlite+aiosqlite:///path or postgresql+asyncpg://user:password@host/db; postgres://,
    # postgresql:// and sqlite:/// are taken as the async driver's URL (see driver_database_url).
    url: str = "sqlite+aiosqlite:///./var/csms.db"  # CSMS_DATABASE_URL
    migrate: bool = True  # CSMS_DATABASE_MIGRATE: run Alembic migrations at startup
    # --- Pool per process (issue 11 item 5, task s12_admission; storage/engine.py,
    # docs/deployment.md). Each process (each `--workers` worker) has its own pool: size
    # PostgreSQL's max_connections >= workers x (pool size + overflow) x 2 (a restart overlaps).
    # 0 / -1: PostgreSQL 5 + 10 overflow (SQLAlchemy's defaults), SQLite a fixed 8, no overflow.
    pool_size: int = 0  # CSMS_DATABASE_POOL_SIZE (0: the default)
    max_overflow: int = -1  # CSMS_DATABASE_MAX_OVERFLOW (-1: the default)
    # Seconds a statement waits for a pooled connection before it fails (0: 30 PostgreSQL,
    # 60 SQLite).
    pool_timeout: float = 0.0  # CSMS_DATABASE_POOL_TIMEOUT (0: the default)

    def pool(self) -> tuple[int | None, int | None, float | None]:
        """Pool size, overflow and timeout for the engine; None for the engine's default."""
        return (
            self.pool_size or None,
            self.max_overflow if self.max_overflow >= 0 else None,
            self.pool_timeout or None,
        )

    # --- end of pool per process
    # --- storage fast path (issue 11 item 5) ---
    # SQLite: apply each group-commit batch on a dedicated writer thread with a synchronous
    # connection, one thread hop per batch instead of several per statement (same PRAGMAs and
    # guarantees). Off: the batch runs on aiosqlite like the reads. Ignored for PostgreSQL.
    sqlite_writer_thread: bool = True  # CSMS_DATABASE_SQLITE_WRITER_THREAD
    # --- end of storage fast path
    # --- handshake station read (issue 11 item 5, reconnect+boot CPU) ---
    # The station row a handshake reads comes straight from the driver (SQLite file: a read-only
    # sqlite3 connection on the event loop that never waits; PostgreSQL: one held connection
    # through asyncpg), not the async engine; busy or failing: the engine reads. Always the
    # committed row, never a cache (storage/station_reads.py).
    direct_station_reads: bool = True  # CSMS_DATABASE_DIRECT_STATION_READS


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The operator HTTP API (its own port)."""

    enabled: bool = True  # CSMS_API_ENABLED
    host: str = "127.0.0.1"  # CSMS_API_HOST
    port: int = 8080  # CSMS_API_PORT
    token: str | None = None  # CSMS_API_TOKEN: bearer token required on /api/v1 when set
    # uploads (issue 7 finding 4): TLS on the API port, which also serves the stations' /files URLs.
    # With both set the API (and the default file URL) is https://.
    tls_cert: str | None = None  # CSMS_API_TLS_CERT: PEM certificate chain
    tls_key: str | None = None  # CSMS_API_TLS_KEY: PEM private key
    # --- API access control (issue 7: the API fails closed) ---
    # "token": every route but /healthz needs a bearer token: CSMS_API_TOKEN (at least 16
    # characters) or the one generated at the first start, stored as a SHA-256 digest in
    # <CSMS_FILES_DATA_DIR>/api-token (`csms api-token rotate` replaces it). "none": no
    # authentication, for a lab on loopback: refused when CSMS_API_HOST is not a loopback address.
    auth: str = "token"  # CSMS_API_AUTH
    # Host header values the API answers (comma-separated; "*.example.com" for subdomains, "*" for
    # any); other hosts get 400 (DNS rebinding). None: localhost, 127.0.0.1, ::1, CSMS_API_HOST
    # unless a wildcard, and the host of CSMS_FILES_PUBLIC_URL.
    trusted_hosts: str | None = None  # CSMS_API_TRUSTED_HOSTS
    # --- typed commands and jobs (issue 9: async mode and fan-out, /api/v1/jobs) ---
    # A job sends one intent to at most this many stations (a fan-out matching more is refused),
    # this many stations of a job at once, with at most this many jobs running (more: 429).
    command_job_max_stations: int = 1000  # CSMS_API_COMMAND_JOB_MAX_STATIONS
    command_job_concurrency: int = 20  # CSMS_API_COMMAND_JOB_CONCURRENCY
    command_jobs_max_running: int = 16  # CSMS_API_COMMAND_JOBS_MAX_RUNNING
    # Finished jobs are kept this many days, and at most this many (the newest).
    command_job_retention_days: float = 7.0  # CSMS_API_COMMAND_JOB_RETENTION_DAYS
    command_jobs_max_kept: int = 10_000  # CSMS_API_COMMAND_JOBS_MAX_KEPT
    # --- Identity and access (issue 9: accounts, roles, sessions, audit; docs/behaviour.md
    # "Operator accounts"). Login budgets: wrong passwords per (account, address group) and per
    # address group within the window, then 429 before the password is checked.
    login_failures_per_account_address: int = 5  # CSMS_API_LOGIN_FAILURES_PER_ACCOUNT_ADDRESS
    login_failures_per_address: int = 20  # CSMS_API_LOGIN_FAILURES_PER_ADDRESS
    login_failure_window: float = 900.0  # CSMS_API_LOGIN_FAILURE_WINDOW (seconds)
    # Browser sessions end after this long without a request, and this long after login at most.
    session_idle_timeout: float = 1800.0  # CSMS_API_SESSION_IDLE_TIMEOUT (seconds)
    session_lifetime: float = 12 * 3600.0  # CSMS_API_SESSION_LIFETIME (seconds)
    # An API token created without an expiry expires after this long (0: never).
    token_lifetime: float = 90 * 86400.0  # CSMS_API_TOKEN_LIFETIME (seconds)
    # argon2id cost of operator passwords (RFC 9106 second recommendation: 64 MiB, 3 passes).
    # Lower only on small hardware; new hashes use it, stored ones keep their own.
    password_hash_memory: int = 65536  # CSMS_API_PASSWORD_HASH_MEMORY (KiB)
    password_hash_time: int = 3  # CSMS_API_PASSWORD_HASH_TIME (passes)
    # Audit log retention: the newest rows kept, and the oldest age kept.
    audit_max_rows: int = 1_000_000  # CSMS_API_AUDIT_MAX_ROWS
    audit_max_age: float = 365 * 86400.0  # CSMS_API_AUDIT_MAX_AGE (seconds)
    # --- end of identity and access


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Logging."""

    level: str = "INFO"  # CSMS_LOG_LEVEL
    json: bool = False  # CSMS_LOG_JSON
    # Log every OCPP frame at INFO on the csms.frames logger, whatever the level (credentials never
    # appear in frames csms logs).
    frames: bool = False  # CSMS_LOG_FRAMES
    # Log rate limits (issue 7 finding 5): per station and kind of line, the first ``rate_burst``
    # lines of each ``rate_interval`` are logged, the rest summed up as "repeated N times"; one
    # traceback per error class per interval.
    rate_interval: float = 60.0  # CSMS_LOG_RATE_INTERVAL (seconds)
    rate_burst: int = 5  # CSMS_LOG_RATE_BURST
    # -- newcomer (issue 7 finding 10): the level of the libraries' loggers (SQLAlchemy, aiosqlite,
    # asyncio, websockets, uvicorn, alembic); CSMS_LOG_LEVEL applies to csms's own loggers only.
    library_level: str = "WARNING"  # CSMS_LOG_LIBRARY_LEVEL


@dataclass(frozen=True, slots=True)
class FilesSettings:
    """The built-in file service (firmware downloads, diagnostics/log uploads) and the built-in CA.

    Served on the HTTP API port under ``/files``; stations reach it at ``public_url``, so that must be
    an address they can route to (the API host is often a loopback or internal name).
    """

    # Firmware images, received uploads and the CA's key and certificate live here.
    data_dir: str = "./var"  # CSMS_FILES_DATA_DIR
    # Base URL stations use for the file service, e.g. https://csms.example.com:8080. None: derived
    # from CSMS_API_HOST/CSMS_API_PORT (fine for labs, wrong behind NAT or a proxy).
    public_url: str | None = None  # CSMS_FILES_PUBLIC_URL
    max_firmware_size: int = 512 * 1024 * 1024  # CSMS_FILES_MAX_FIRMWARE_SIZE (bytes)
    max_upload_size: int = (
        64 * 1024 * 1024
    )  # CSMS_FILES_MAX_UPLOAD_SIZE (bytes, per station upload)
    # Seconds a per-request URL stays valid after the request's retrieve date (or its creation).
    url_ttl: float = 7 * 24 * 3600.0  # CSMS_FILES_URL_TTL
    # uploads (issue 7 finding 4): bytes all stations' stored and in-flight uploads may take, and
    # one station's share of that (so one station cannot fill the quota of all; 0: a tenth of the
    # total). Beyond either: 507.
    upload_quota: int = 10 * 1024**3  # CSMS_FILES_UPLOAD_QUOTA (bytes)
    station_upload_quota: int = 0  # CSMS_FILES_STATION_UPLOAD_QUOTA (bytes)

    @property
    def station_upload_share(self) -> int:
        """One station's share of the upload quota in bytes."""
        if self.station_upload_quota:
            return self.station_upload_quota
        return max(1, self.upload_quota // 10)


@dataclass(frozen=True, slots=True)
class EventsSettings:
    """Events (issue 9, scope 8): the SSE stream and webhooks (docs/behaviour.md "Events and
    webhooks"). CSMS_EVENTS_*."""

    # Events kept in memory for Last-Event-ID resumption (and for slow subscribers to catch up).
    replay_size: int = 10_000  # CSMS_EVENTS_REPLAY_SIZE
    # Events queued per subscriber before it falls back to the replay buffer.
    queue_size: int = 1_000  # CSMS_EVENTS_QUEUE_SIZE
    # Concurrent SSE streams; more get 503.
    max_streams: int = 100  # CSMS_EVENTS_MAX_STREAMS
    # Seconds between SSE keepalive comments.
    keepalive: float = 15.0  # CSMS_EVENTS_KEEPALIVE
    # At most one meter.values event per station and EVSE per this many seconds (0: every one).
    meter_interval: float = 60.0  # CSMS_EVENTS_METER_INTERVAL
    # Webhooks: subscriptions allowed; attempts per delivery; first retry delay (doubled each
    # time, with jitter, up to webhook_max_backoff); timeout per attempt; failed attempts in a row
    # that disable a subscription.
    max_webhooks: int = 100  # CSMS_EVENTS_MAX_WEBHOOKS
    webhook_max_attempts: int = 8  # CSMS_EVENTS_WEBHOOK_MAX_ATTEMPTS
    webhook_backoff: float = 2.0  # CSMS_EVENTS_WEBHOOK_BACKOFF (seconds)
    webhook_max_backoff: float = 3600.0  # CSMS_EVENTS_WEBHOOK_MAX_BACKOFF (seconds)
    webhook_timeout: float = 10.0  # CSMS_EVENTS_WEBHOOK_TIMEOUT (seconds)
    webhook_disable_after: int = 20  # CSMS_EVENTS_WEBHOOK_DISABLE_AFTER
    # Plain http:// to hosts other than loopback (off: https required).
    webhook_allow_http: bool = False  # CSMS_EVENTS_WEBHOOK_ALLOW_HTTP
    # Refuse webhook targets that resolve to private, loopback or link-local addresses (SSRF).
    webhook_block_private: bool = False  # CSMS_EVENTS_WEBHOOK_BLOCK_PRIVATE
    # The delivery log: seconds kept, and rows kept per subscription.
    webhook_retention: float = 7 * 24 * 3600.0  # CSMS_EVENTS_WEBHOOK_RETENTION (seconds)
    webhook_log_size: int = 1000  # CSMS_EVENTS_WEBHOOK_LOG_SIZE


# --- Cluster (issue 11 scope 1-3; csms.cluster, docs/behaviour.md "Cluster") ---
CLUSTER_ROLES = ("all", "gateway", "api")


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """Many csms processes on one NATS and one PostgreSQL (issue 11). Off unless ``url`` is set:
    the embedded default is one process with the in-process bus. CSMS_CLUSTER_*."""

    # NATS server URL(s), comma-separated (nats://host:4222). None: no cluster, one process.
    url: str | None = None  # CSMS_CLUSTER_URL
    # What this process does: all = stations and API, gateway = stations only, api = API only.
    role: str = "all"  # CSMS_CLUSTER_ROLE
    # This process's name in the cluster (presence, routing); None: host name, pid and a random part.
    node_id: str | None = None  # CSMS_CLUSTER_NODE_ID
    # Seconds a node's lease lives unrenewed (renewed every third of it): a dead node's stations are
    # offline for the other nodes at most this long after it died.
    lease: float = 10.0  # CSMS_CLUSTER_LEASE
    # Seconds the API node waits for the holder's answer beyond the command's own timeout; no answer
    # by then is "outcome unknown" (the holder may have died with the CALL on the wire).
    request_margin: float = 5.0  # CSMS_CLUSTER_REQUEST_MARGIN


# --- end of cluster


@dataclass(frozen=True, slots=True)
class Settings:
    """All of csms's settings."""

    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    log: LogSettings = field(default_factory=LogSettings)
    files: FilesSettings = field(default_factory=FilesSettings)
    events: EventsSettings = field(default_factory=EventsSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)  # issue 11


_SECTIONS = {
    "server": "",
    "database": "DATABASE_",
    "api": "API_",
    "log": "LOG_",
    "files": "FILES_",
    "events": "EVENTS_",
    "cluster": "CLUSTER_",
}


def _convert(name: str, raw: str, current: object, optional: bool) -> object:
    target = type(current)
    if optional and raw.strip().lower() in {"", "none", "off"}:
        return None
    if isinstance(current, bool):
        lowered = raw.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name}: expected true or false, got {raw!r}")
    if isinstance(current, UnknownStationPolicy):
        try:
            return UnknownStationPolicy(raw.strip().lower())
        except ValueError:
            choices = ", ".join(p.value for p in UnknownStationPolicy)
            raise SettingsError(f"{name}: expected one of {choices}, got {raw!r}") from None
    if current is None or isinstance(current, str):
        return raw
    try:
        if target is int:
            return int(raw)
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Build settings from ``CSMS_*`` variables in ``environ``; unknown fields are left at defaults."""
    settings = Settings()
    sections = {}
    for section, prefix in _SECTIONS.items():
        value = getattr(settings, section)
        changes = {}
        for f in dataclasses.fields(value):
            env_name = "CSMS_" + prefix + f.name.upper()
            if prefix and f.name.upper().startswith(prefix.rstrip("_")):
                env_name = "CSMS_" + f.name.upper()
            if env_name in environ:
                changes[f.name] = _convert(
                    env_name, environ[env_name], getattr(value, f.name), "None" in str(f.type)
                )
        sections[section] = dataclasses.replace(value, **changes)
    result = Settings(**sections)
    validate(result)
    return result


def _validate_saturation(server: ServerSettings) -> None:
    """Per-process cost (issue 11): the handshake admission limits."""
    if server.max_handshakes < 0:
        raise SettingsError("CSMS_MAX_HANDSHAKES: handshakes in progress, 0 for no limit (500)")
    if not server.max_loop_lag >= 0:
        raise SettingsError("CSMS_MAX_LOOP_LAG: seconds, 0 for no limit (default 2)")
    if not 1 <= server.shed_retry_after <= 3600:
        raise SettingsError("CSMS_SHED_RETRY_AFTER: seconds, 1 to 3600 (default 5)")


def _validate_accept_backpressure(server: ServerSettings, database: DatabaseSettings) -> None:
    """Handshake admission: backpressure before accept, and the pool per process."""
    if server.max_pending_handshakes < 0:
        raise SettingsError(
            "CSMS_MAX_PENDING_HANDSHAKES: connections accepted and not upgraded, "
            "0 for twice CSMS_MAX_HANDSHAKES"
        )
    if server.max_handshake_reads < 0:
        raise SettingsError("CSMS_MAX_HANDSHAKE_READS: handshakes, 0 for no limit (default 32)")
    if not 0 <= database.pool_size <= 1000:
        raise SettingsError(
            "CSMS_DATABASE_POOL_SIZE: connections per process, 1 to 1000 (0: default)"
        )
    if not -1 <= database.max_overflow <= 1000:
        raise SettingsError(
            "CSMS_DATABASE_MAX_OVERFLOW: connections per process, 0 to 1000 (-1: default)"
        )
    if not 0 <= database.pool_timeout <= 3600:
        raise SettingsError("CSMS_DATABASE_POOL_TIMEOUT: seconds, at most 3600 (0: default)")
    if not 1 <= server.worker_stop_timeout <= 3600:
        raise SettingsError("CSMS_WORKER_STOP_TIMEOUT: seconds, 1 to 3600 (default 60)")
    if not 1 <= server.stop_close_batch <= 100_000:
        raise SettingsError("CSMS_STOP_CLOSE_BATCH: sessions, 1 to 100000 (default 1000)")
    if not 0.1 <= server.stop_close_timeout <= 60:
        raise SettingsError("CSMS_STOP_CLOSE_TIMEOUT: seconds, 0.1 to 60 (default 1)")


def _validate_soap(server: ServerSettings) -> None:
    """OCPP over SOAP (issue 12): a TCP port, a body limit SOAP headers fit in, a grace >= 0."""
    if not 0 <= server.soap_port <= 65535:
        raise SettingsError(f"CSMS_SOAP_PORT: {server.soap_port} is not a TCP port")
    if server.soap_enabled and server.soap_port == server.port and server.port != 0:
        raise SettingsError("CSMS_SOAP_PORT: must differ from CSMS_PORT (the WebSocket endpoint)")
    if not 4096 <= server.soap_max_message_size <= 16 * 1024 * 1024:
        raise SettingsError("CSMS_SOAP_MAX_MESSAGE_SIZE: 4096 to 16777216 bytes (default 65536)")
    if not server.soap_presence_grace >= 0:  # also NaN
        raise SettingsError("CSMS_SOAP_PRESENCE_GRACE: seconds, 0 or more (default 60)")
    if server.soap_enabled and server.security_profile == 3:
        raise SettingsError(
            "CSMS_SOAP_ENABLED: OCPP over SOAP serves security profiles 0-2 (Basic auth, TLS); "
            "profile 3 (client certificates) is not supported on it"
        )


def _validate_admission(server: ServerSettings) -> None:
    """The handshake throttle's budgets: whole numbers >= 1 and positive durations/rates."""
    for name in (
        "auth_failures_per_address",
        "auth_failures_per_identity",
        "unknown_identity_failures_per_address",
        "registration_burst",
        "registrations_per_address",
        "max_pending_registrations",
    ):
        if getattr(server, name) < 1:
            raise SettingsError(f"CSMS_{name.upper()}: at least 1, got {getattr(server, name)}")
    if not server.auth_failure_window > 0:
        raise SettingsError(
            f"CSMS_AUTH_FAILURE_WINDOW: seconds, must be positive, got {server.auth_failure_window}"
        )
    if not server.registration_rate >= 0:
        raise SettingsError(
            "CSMS_REGISTRATION_RATE: registrations per second, 0 for no pacing, got "
            f"{server.registration_rate}"
        )


# The drivers csms ships with, and the URL schemes taken as theirs (what hosting providers and
# libpq-style tools print: postgres://, postgresql://; SQLAlchemy's sync sqlite:///).
_DRIVER_URLS = ("sqlite+aiosqlite", "postgresql+asyncpg")
_SCHEME_ALIASES = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}
_DATABASE_URL_HINT = (
    "expected sqlite+aiosqlite:///path/to/csms.db or "
    "postgresql+asyncpg://user:password@host:5432/database"
)
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _validate_operations(server: ServerSettings) -> None:
    """The message log's bounds and the readiness check (issue 9): positive numbers."""
    for name in ("message_log_max_rows", "message_log_max_bytes", "message_log_queue"):
        if getattr(server, name) < 1:
            raise SettingsError(f"CSMS_{name.upper()}: at least 1, got {getattr(server, name)}")
    for name in (
        "message_log_max_age",
        "message_log_prune_interval",
        "readiness_timeout",
    ):
        if not getattr(server, name) > 0:
            raise SettingsError(
                f"CSMS_{name.upper()}: seconds, must be positive, got {getattr(server, name)}"
            )
    if not server.readiness_cache >= 0:
        raise SettingsError(
            f"CSMS_READINESS_CACHE: seconds, 0 or more, got {server.readiness_cache}"
        )


def driver_database_url(url: str) -> str:
    """The URL csms opens for ``url``: ``postgres://`` and ``postgresql://`` become
    ``postgresql+asyncpg://``, ``sqlite://`` becomes ``sqlite+aiosqlite://``; the rest is kept.

    Raises:
        SettingsError: a URL csms has no driver for (the message never shows the password).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or not rest:
        raise SettingsError(f"CSMS_DATABASE_URL (--database-url): not a URL; {_DATABASE_URL_HINT}")
    scheme = scheme.strip().lower()
    if scheme in _DRIVER_URLS:
        return url
    if scheme in _SCHEME_ALIASES:
        return f"{_SCHEME_ALIASES[scheme]}://{rest}"
    raise SettingsError(
        f"CSMS_DATABASE_URL (--database-url): csms has no driver for {scheme}://; "
        f"{_DATABASE_URL_HINT}"
    )


def _validate_iso15118(server: ServerSettings) -> None:
    """none, builtin or module:attribute; the EXI directory only for the built-in provider."""
    provider = server.iso15118_provider.strip()
    module, sep, attribute = provider.partition(":")
    if provider not in ("none", "builtin") and not (sep and module and attribute):
        raise SettingsError(
            f"CSMS_ISO15118_PROVIDER: expected none, builtin or module:attribute, got {provider!r}"
        )
    if server.iso15118_exi_dir is not None and provider != "builtin":
        raise SettingsError(
            "CSMS_ISO15118_EXI_DIR is used only with CSMS_ISO15118_PROVIDER=builtin"
        )


def _validate_profile3(server: ServerSettings) -> None:
    """Client certificates need TLS; the signer is builtin or module:attribute."""
    if server.tls_client_ca is not None and server.security_profile < 2:
        raise SettingsError(
            "CSMS_TLS_CLIENT_CA: station certificates need TLS (security profile 2 or 3)"
        )
    client_certificates = server.security_profile == 3 or server.tls_client_ca is not None
    if server.tls_organization is not None and (
        not server.tls_organization.strip() or not client_certificates
    ):
        raise SettingsError(
            "CSMS_TLS_ORGANIZATION: a non-empty name, used with security profile 3 or "
            "CSMS_TLS_CLIENT_CA"
        )
    signer = server.certificate_signer.strip()
    module, sep, attribute = signer.partition(":")
    if signer != "builtin" and not (sep and module and attribute):
        raise SettingsError(
            f"CSMS_CERTIFICATE_SIGNER: expected builtin or module:attribute, got {signer!r}"
        )


def _validate_cluster(cluster: ClusterSettings, api_enabled: bool) -> None:
    """Cluster (issue 11): nats:// URLs, a known role, a lease and margin that make sense."""
    if cluster.url is not None:
        for url in cluster.url.split(","):
            if not url.strip().startswith(("nats://", "tls://")):
                raise SettingsError(
                    f"CSMS_CLUSTER_URL (--cluster-url): expected nats://host:port, got {url!r}"
                )
    if cluster.role not in CLUSTER_ROLES:
        raise SettingsError(
            f"CSMS_CLUSTER_ROLE (--role): expected one of {', '.join(CLUSTER_ROLES)}, "
            f"got {cluster.role!r}"
        )
    if cluster.role != "all" and cluster.url is None:
        raise SettingsError("CSMS_CLUSTER_ROLE (--role): gateway and api need CSMS_CLUSTER_URL")
    if cluster.role == "api" and not api_enabled:
        raise SettingsError("CSMS_CLUSTER_ROLE (--role): api needs the HTTP API (not --no-api)")
    if not cluster.lease >= 1.0:
        raise SettingsError(f"CSMS_CLUSTER_LEASE: seconds, at least 1, got {cluster.lease}")
    if not cluster.request_margin > 0:
        raise SettingsError(
            f"CSMS_CLUSTER_REQUEST_MARGIN: seconds, more than 0, got {cluster.request_margin}"
        )
    if cluster.node_id is not None and not _NODE_ID.fullmatch(cluster.node_id):
        raise SettingsError(
            f"CSMS_CLUSTER_NODE_ID: 1 to 64 letters, digits, '-' or '_', got {cluster.node_id!r}"
        )


_NODE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# --- Workers (issue 11 item 1): the supervisor names its workers <node id>-w<n>[-<restart>].
MAX_WORKERS = 256
WORKER_NODE_ID_LENGTH = 48


def _validate_workers(settings: Settings) -> None:
    """`--workers N`: N cluster nodes on one PostgreSQL, each binding fixed ports (issue 11)."""
    server, workers = settings.server, settings.server.workers
    if not 1 <= workers <= MAX_WORKERS:
        raise SettingsError(f"CSMS_WORKERS (--workers): 1 to {MAX_WORKERS}, got {workers}")
    if server.reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise SettingsError("CSMS_REUSE_PORT: this platform has no SO_REUSEPORT")
    if server.reuse_port and settings.cluster.url is None:
        raise SettingsError(
            "CSMS_REUSE_PORT: processes sharing a port must be cluster nodes: set CSMS_CLUSTER_URL"
        )
    if workers == 1:
        return
    if settings.cluster.url is None or not driver_database_url(settings.database.url).startswith(
        "postgresql"
    ):
        raise SettingsError(
            "CSMS_WORKERS (--workers): more than one worker needs CSMS_CLUSTER_URL (--cluster-url) "
            "and a PostgreSQL CSMS_DATABASE_URL (--database-url); SQLite is one process"
        )
    ports = [("CSMS_PORT (--port)", server.port)]
    if server.soap_enabled:
        ports.append(("CSMS_SOAP_PORT (--soap-port)", server.soap_port))
    if settings.api.enabled and settings.cluster.role != "gateway":
        ports.append(("CSMS_API_PORT (--api-port)", settings.api.port))
    for name, port in ports:
        if port == 0:
            raise SettingsError(f"{name}: the workers share a fixed port, not 0 (--workers)")
    node_id = settings.cluster.node_id
    if node_id is not None and len(node_id) > WORKER_NODE_ID_LENGTH:
        raise SettingsError(
            f"CSMS_CLUSTER_NODE_ID: at most {WORKER_NODE_ID_LENGTH} characters with --workers "
            f"(the workers are named <id>-w1, <id>-w2, ...), got {len(node_id)}"
        )


def validate(settings: Settings) -> None:
    """Raise :class:`SettingsError` for combinations csms cannot serve."""
    server = settings.server
    _validate_cluster(settings.cluster, settings.api.enabled)
    _validate_workers(settings)
    if server.security_profile not in (0, 1, 2, 3):
        raise SettingsError("CSMS_SECURITY_PROFILE: expected 0, 1, 2 or 3")
    if (server.tls_cert is None) != (server.tls_key is None):
        raise SettingsError("CSMS_TLS_CERT and CSMS_TLS_KEY must be given together")
    if (server.tls_cert2 is None) != (server.tls_key2 is None):
        raise SettingsError("CSMS_TLS_CERT2 and CSMS_TLS_KEY2 must be given together")
    if server.tls_cert2 is not None and server.tls_cert is None:
        raise SettingsError("CSMS_TLS_CERT2 is a second certificate: set CSMS_TLS_CERT first")
    if server.max_connections < 0:
        raise SettingsError("CSMS_MAX_CONNECTIONS: 0 (from the open-files limit, default) or more")
    if server.max_handshakes_per_address < 1:
        raise SettingsError("CSMS_MAX_HANDSHAKES_PER_ADDRESS: at least 1 (default 128)")
    for network in filter(None, (n.strip() for n in server.handshake_limit_exempt.split(","))):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise SettingsError(
                f"CSMS_HANDSHAKE_LIMIT_EXEMPT: {network!r} is not an IP network (e.g. 10.0.0.0/8)"
            ) from None
    if server.open_timeout <= 0:
        raise SettingsError("CSMS_OPEN_TIMEOUT: seconds, more than 0 (default 10)")
    if server.security_profile >= 2 and server.tls_cert is None:
        raise SettingsError(
            f"security profile {server.security_profile} needs CSMS_TLS_CERT and CSMS_TLS_KEY"
        )
    _validate_profile3(server)
    for name in ("port",):
        port = getattr(server, name)
        if not 0 <= port <= 65535:
            raise SettingsError(f"CSMS_{name.upper()}: {port} is not a TCP port")
    if not 0 <= settings.api.port <= 65535:
        raise SettingsError(f"CSMS_API_PORT: {settings.api.port} is not a TCP port")
    _validate_api(settings.api)
    _validate_events(settings.events)
    if server.max_message_size < 64 * 1024:
        raise SettingsError("CSMS_MAX_MESSAGE_SIZE: at least 65536 bytes (certificates need 10 kB)")
    if server.call_timeout <= 0 or server.heartbeat_interval <= 0:
        raise SettingsError("CSMS_CALL_TIMEOUT and CSMS_HEARTBEAT_INTERVAL must be positive")
    if server.listen_backlog < 1:
        raise SettingsError("CSMS_LISTEN_BACKLOG: at least 1 (default 4096)")
    if server.boot_pacing_rate < 0:
        raise SettingsError("CSMS_BOOT_PACING_RATE: boots per second, 0 for no pacing")
    _validate_admission(server)
    _validate_saturation(server)
    _validate_accept_backpressure(server, settings.database)
    _validate_operations(server)
    _validate_soap(server)
    # Log rate limits and protocol violations (issue 7 finding 5).
    if server.max_protocol_violations < 1 or server.protocol_violation_window <= 0:
        raise SettingsError(
            "CSMS_MAX_PROTOCOL_VIOLATIONS (at least 1) and CSMS_PROTOCOL_VIOLATION_WINDOW "
            "(seconds, > 0) must be positive"
        )
    if settings.log.rate_interval <= 0 or settings.log.rate_burst < 1:
        raise SettingsError(
            "CSMS_LOG_RATE_INTERVAL (> 0) and CSMS_LOG_RATE_BURST (>= 1) are needed"
        )
    driver_database_url(settings.database.url)
    for level, name in (
        (settings.log.level, "CSMS_LOG_LEVEL (--log-level)"),
        (settings.log.library_level, "CSMS_LOG_LIBRARY_LEVEL (--log-library-level)"),
    ):
        if level.strip().upper() not in _LOG_LEVELS:
            raise SettingsError(f"{name}: expected one of {', '.join(_LOG_LEVELS)}, not {level!r}")
    _validate_iso15118(server)
    # Tariffs and cost (issue 8 block I).
    if not server.cost_update_interval >= 0:
        raise SettingsError(
            "CSMS_COST_UPDATE_INTERVAL: seconds between CostUpdated rounds, 0 for none, got "
            f"{server.cost_update_interval}"
        )
    if server.cost_update_concurrency < 1:
        raise SettingsError(
            f"CSMS_COST_UPDATE_CONCURRENCY: at least 1, got {server.cost_update_concurrency}"
        )
    if server.ev_schedule_stack_level < 0:  # ISO 15118 smart charging (issue 8 K15-K17)
        raise SettingsError(
            f"CSMS_EV_SCHEDULE_STACK_LEVEL: 0 or more, got {server.ev_schedule_stack_level}"
        )
    files = settings.files
    if files.max_firmware_size <= 0 or files.max_upload_size <= 0 or files.url_ttl <= 0:
        raise SettingsError("CSMS_FILES_MAX_*_SIZE and CSMS_FILES_URL_TTL must be positive")
    if files.public_url is not None and not files.public_url.startswith(("http://", "https://")):
        raise SettingsError("CSMS_FILES_PUBLIC_URL: expected an http:// or https:// URL")
    # uploads (issue 7 finding 4)
    if files.upload_quota <= 0 or files.station_upload_quota < 0:
        raise SettingsError(
            "CSMS_FILES_UPLOAD_QUOTA: bytes, > 0; CSMS_FILES_STATION_UPLOAD_QUOTA: bytes, >= 0 "
            "(0: a tenth of the total)"
        )
    if files.station_upload_share > files.upload_quota:
        raise SettingsError(
            "CSMS_FILES_STATION_UPLOAD_QUOTA: at most CSMS_FILES_UPLOAD_QUOTA "
            f"({files.upload_quota} bytes)"
        )
    if (settings.api.tls_cert is None) != (settings.api.tls_key is None):
        raise SettingsError("CSMS_API_TLS_CERT and CSMS_API_TLS_KEY must be given together")
    if (
        server.security_profile >= 2
        and files.public_url is not None
        and not files.public_url.startswith("https://")
    ):
        raise SettingsError(
            "CSMS_FILES_PUBLIC_URL: security profile 2 needs an https:// URL (stations would "
            "send diagnostics and fetch firmware in clear text)"
        )


def _validate_api(api: ApiSettings) -> None:
    """The API's access settings (issue 7): fail closed, never open beyond loopback."""
    if api.auth not in ("token", "none"):
        raise SettingsError(f"CSMS_API_AUTH: expected token or none, got {api.auth!r}")
    if api.token is not None and len(api.token) < MIN_TOKEN_LENGTH:
        raise SettingsError(
            f"CSMS_API_TOKEN: at least {MIN_TOKEN_LENGTH} characters "
            "(or unset it to use the generated token)"
        )
    if api.auth == "none" and api.token is not None:
        raise SettingsError("CSMS_API_AUTH=none and CSMS_API_TOKEN contradict: unset one")
    if api.auth == "none" and api.enabled and not is_loopback_host(api.host):
        raise SettingsError(
            f"CSMS_API_AUTH=none is refused: the API binds {api.host!r}, not a loopback address, "
            "so anyone on the network could drive every station; use the API token"
        )
    if api.trusted_hosts is not None and not [h for h in api.trusted_hosts.split(",") if h.strip()]:
        raise SettingsError("CSMS_API_TRUSTED_HOSTS: expected comma-separated host names")
    _validate_command_jobs(api)
    _validate_identity(api)


def _validate_command_jobs(api: ApiSettings) -> None:
    """The typed commands' job bounds (issue 9): every one positive."""
    for name, value in (
        ("COMMAND_JOB_MAX_STATIONS", api.command_job_max_stations),
        ("COMMAND_JOB_CONCURRENCY", api.command_job_concurrency),
        ("COMMAND_JOBS_MAX_RUNNING", api.command_jobs_max_running),
        ("COMMAND_JOB_RETENTION_DAYS", api.command_job_retention_days),
        ("COMMAND_JOBS_MAX_KEPT", api.command_jobs_max_kept),
    ):
        if not value > 0:
            raise SettingsError(f"CSMS_API_{name}: must be positive, got {value}")


def _validate_identity(api: ApiSettings) -> None:
    """Identity and access (issue 9): budgets >= 1, durations > 0 (token lifetime: 0 = never)."""
    for name in (
        "login_failures_per_account_address",
        "login_failures_per_address",
        "audit_max_rows",
    ):
        if getattr(api, name) < 1:
            raise SettingsError(f"CSMS_API_{name.upper()}: at least 1, got {getattr(api, name)}")
    for name in (
        "login_failure_window",
        "session_idle_timeout",
        "session_lifetime",
        "audit_max_age",
    ):
        if not getattr(api, name) > 0:
            raise SettingsError(
                f"CSMS_API_{name.upper()}: seconds, must be positive, got {getattr(api, name)}"
            )
    if api.password_hash_memory < 1024 or api.password_hash_time < 1:
        raise SettingsError(
            "CSMS_API_PASSWORD_HASH_MEMORY (KiB, at least 1024; default 65536) and "
            "CSMS_API_PASSWORD_HASH_TIME (at least 1; default 3)"
        )
    if not api.token_lifetime >= 0:
        raise SettingsError(
            f"CSMS_API_TOKEN_LIFETIME: seconds, 0 (never) or more, got {api.token_lifetime}"
        )


def _validate_events(events: EventsSettings) -> None:
    """Events (issue 9): counts at least 1, durations positive (the meter interval may be 0)."""
    for name in (
        "replay_size",
        "queue_size",
        "max_streams",
        "max_webhooks",
        "webhook_max_attempts",
        "webhook_disable_after",
        "webhook_log_size",
    ):
        if getattr(events, name) < 1:
            raise SettingsError(
                f"CSMS_EVENTS_{name.upper()}: at least 1, got {getattr(events, name)}"
            )
    for name in (
        "keepalive",
        "webhook_backoff",
        "webhook_max_backoff",
        "webhook_timeout",
        "webhook_retention",
    ):
        if not getattr(events, name) > 0:
            raise SettingsError(
                f"CSMS_EVENTS_{name.upper()}: seconds, more than 0, got {getattr(events, name)}"
            )
    if not events.meter_interval >= 0:
        raise SettingsError(
            f"CSMS_EVENTS_METER_INTERVAL: seconds, 0 or more, got {events.meter_interval}"
        )


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
