"""The app factory. Everything an app uses is passed in, so the composition root decides what runs
and tests build as many independent apps as they like."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

from fastapi import FastAPI, Security
from fastapi.params import Depends

import csms
from csms.api.auth import (
    PUBLIC,
    ROLE_KEY,
    AuthMiddleware,
    bearer_scheme,
    default_role,
    route_roles,
)
from csms.api.deps import ApiContext, attach_context
from csms.api.docs import ASSETS_PATH, install_docs
from csms.api.errors import PROBLEM_MEDIA_TYPE, install_error_handlers
from csms.api.hosts import LOOPBACK_HOSTS, HostPatterns, TrustedHostMiddleware
from csms.api.identity import SESSION_COOKIE, Identity
from csms.api.media import STATE_CHANGING, JsonBodyMiddleware, binary_routes
from csms.api.metrics import MetricsSources, attach_metrics, metrics_router
from csms.api.ocpp_hint import OcppHintMiddleware
from csms.api.routes.commands import commands_router
from csms.api.routes.connections import attach_connection_history, connection_history_router
from csms.api.routes.device_model import attach_device_model, device_model_router
from csms.api.routes.ev_schedules import EvRenegotiation, attach_ev_schedules, ev_schedules_router
from csms.api.routes.events import EventsApi, attach_events, events_router
from csms.api.routes.files import FilesApi, attach_files, file_service_router, files_router
from csms.api.routes.health import DatabaseProbe, LoadProbe, health_router
from csms.api.routes.identity import attach_identity, has_identity, identity_router
from csms.api.routes.ledger_context import TransactionsApi, attach_transactions
from csms.api.routes.messages import attach_message_log, message_log_router
from csms.api.routes.notifications import attach_notifications, notifications_router
from csms.api.routes.remote_starts import attach_remote_starts, remote_starts_router
from csms.api.routes.security import security_router
from csms.api.routes.stations import stations_router
from csms.api.routes.tariffs import TariffsApi, attach_tariffs, tariffs_router
from csms.api.routes.tokens import TokensApi, attach_tokens, tokens_router
from csms.api.routes.tracked_state import attach_tracked_state, tracked_state_router
from csms.api.routes.transactions import transactions_router
from csms.api.routes.typed_commands import (
    CommandsApi,
    attach_typed_commands,
    typed_commands_router,
)
from csms.api.routes.webhooks import webhooks_router
from csms.api.schemas import Problem, ValidationProblem
from csms.domain.api_credentials import ApiCredentials, FixedApiToken
from csms.domain.connections import ConnectionHistory
from csms.domain.devicemodel import DeviceModelRepository
from csms.domain.messagelog import MessageLogRepository
from csms.domain.notifications import NotificationLog
from csms.domain.ports import SoapPresence, StationGateway, StationRepository
from csms.domain.remotestart import RemoteStartLinks

API_PREFIX: Final = "/api/v1"
_NO_TOKEN: Final = "Missing or invalid bearer token"
SESSION_SCHEME: Final = "sessionCookie"
ApiAuth = Literal["token", "none"]
# Never behind the token: liveness/readiness probes (load balancers send no token).
HEALTH_PATHS: Final = ("/healthz", "/readyz")

_DESCRIPTION: Final = """\
Operate the charging stations of this CSMS: register them, see their state and send them OCPP
commands (1.6J, 2.0.1 and 2.1). The OCPP WebSocket endpoint is served on a separate port.

Every `/api/v1` route but login needs a credential: `Authorization: Bearer <token>` (an account's
API token, or the bootstrap admin token: `CSMS_API_TOKEN`, or the one csms generated and showed at
its first start; `csms api-token rotate` prints a new one), or the session cookie set by
`POST /api/v1/auth/login` (then state-changing requests send `X-CSRF-Token`). Each operation's
`x-required-role` names the least role it needs (viewer < operator < admin); else 403.
Requests must name a trusted host (`CSMS_API_TRUSTED_HOSTS`, else 400) and state-changing ones send
JSON (`Content-Type: application/json`, else 415), except the firmware upload.

Errors are [RFC 9457](https://www.rfc-editor.org/rfc/rfc9457) problem details
(`application/problem+json`); switch on `type`, not on `detail`.
"""

_TAGS: Final = [
    {"name": "stations", "description": "Station registry and status"},
    {"name": "commands", "description": "CSMS-initiated OCPP commands"},
    {"name": "health", "description": "Liveness, readiness and metrics"},
]
_MESSAGE_LOG_TAGS: Final = [
    {"name": "message log", "description": "Every OCPP frame in and out"},
]
_TOKENS_TAGS: Final = [
    {"name": "tokens", "description": "Id tokens (2.x IdTokens and 1.6 idTags), import/export"},
]
_TRANSACTION_TAGS: Final = [
    {"name": "transactions", "description": "Transactions (1.6 and 2.x) and meter values"},
]
_IDENTITY_TAGS: Final = [
    {"name": "auth", "description": "Login, logout and who am I (browser sessions)"},
    {"name": "users", "description": "Operator accounts and roles (admin)"},
    {"name": "api tokens", "description": "Per-account API tokens"},
    {"name": "audit", "description": "Who changed what (admin)"},
]
_DEVICE_MODEL_TAGS: Final = [
    {"name": "device model", "description": "What 2.x stations reported about themselves"},
]
_TRACKED_TAGS: Final = [
    {"name": "tracked state", "description": "What csms sent (desired) vs what stations reported"},
]
_EVENTS_TAGS: Final = [
    {"name": "events", "description": "Server-Sent Events and webhooks"},
]
_FILES_TAGS: Final = [
    {"name": "files", "description": "Firmware images, diagnostics and log uploads"},
    {"name": "security", "description": "Security events, certificates, station passwords"},
]


class CsmsApi(FastAPI):
    """FastAPI whose OpenAPI document declares error bodies as ``application/problem+json``."""

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if (
                        status == "default" or status[:1] in "45"
                    ) and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        _declare_guards(schema)
        _declare_validation_problems(schema)
        _declare_roles(schema, sessions=has_identity(self))
        return schema


def _declare_validation_problems(schema: dict[str, Any]) -> None:
    """A 422 is always a problem document (``install_error_handlers`` answers FastAPI's request
    validation errors with ``validation-error`` problems too), never FastAPI's default
    ``HTTPValidationError`` body: say so wherever FastAPI put its default."""
    default = "#/components/schemas/HTTPValidationError"
    problem = "#/components/schemas/ValidationProblem"
    replaced = False
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            response = operation.get("responses", {}).get("422", {})
            for media in response.get("content", {}).values():
                if media.get("schema", {}).get("$ref") == default:
                    media["schema"] = {"$ref": problem}
                    replaced = True
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if replaced and "ValidationProblem" not in components:
        components["ValidationProblem"] = ValidationProblem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )


def _declare_roles(schema: dict[str, Any], *, sessions: bool) -> None:
    """Publish ``x-required-role`` on every operation: as declared (``openapi_extra``), else the
    default by method; the routes outside ``/api/v1`` are public (health) or carry their own URL
    credential (the stations' ``/files``)."""
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    if schemes and sessions:  # accounts are on: the dashboard's session cookie is the other way
        schemes[SESSION_SCHEME] = {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "Browser session from POST /api/v1/auth/login; state-changing "
            "requests also send X-CSRF-Token",
        }
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            if not path.startswith(API_PREFIX):
                operation.setdefault(ROLE_KEY, PUBLIC)
                continue
            role = operation.setdefault(ROLE_KEY, default_role(method).value)
            if role == PUBLIC:
                operation["security"] = []  # login: no credential
                responses = operation.get("responses", {})
                if responses.get("401", {}).get("description") == _NO_TOKEN:
                    responses.pop("401")  # the router's default; login's own 401 stays
            elif sessions and operation.get("security"):
                operation["security"] = [*operation["security"], {SESSION_SCHEME: []}]
            if role != PUBLIC:
                operation.setdefault("responses", {}).setdefault(
                    "403",
                    {
                        "description": "Role insufficient (or CSRF token missing)",
                        "content": problem,
                    },
                )


def _declare_guards(schema: dict[str, Any]) -> None:
    """Document the 400/415 answers of the host and media-type guards on the operations."""
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, path_item in schema.get("paths", {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "400", {"description": "Host header not trusted", "content": problem}
            )
            if method.upper() in STATE_CHANGING:
                responses.setdefault("415", {"description": "Body is not JSON", "content": problem})


def create_app(
    *,
    stations: StationRepository,
    gateway: StationGateway,
    api_token: str | None = None,
    credentials: ApiCredentials | None = None,
    auth: ApiAuth = "token",
    trusted_hosts: Sequence[str] = LOOPBACK_HOSTS,
    ocpp_port: int | None = None,
    ocpp_tls: bool = False,
    call_timeout: float = 30.0,
    version: str = csms.__version__,
    files: FilesApi | None = None,
    device_model: DeviceModelRepository | None = None,
    notifications: NotificationLog | None = None,
    remote_starts: RemoteStartLinks | None = None,
    station_load: LoadProbe | None = None,
    tariffs: TariffsApi | None = None,
    tokens: TokensApi | None = None,
    transactions: TransactionsApi | None = None,
    ev_schedules: EvRenegotiation | None = None,
    commands: CommandsApi | None = None,
    identity: Identity | None = None,
    events: EventsApi | None = None,
    message_log: MessageLogRepository | None = None,
    metrics: MetricsSources | None = None,
    database: DatabaseProbe | None = None,
    soap: SoapPresence | None = None,
    connection_history: ConnectionHistory | None = None,
) -> FastAPI:
    """Build the HTTP API. It fails closed: without a credential it refuses to build.

    Args:
        stations: where stations are stored.
        gateway: sends commands to connected stations and knows which are connected.
        api_token: a bearer token every ``/api/v1`` route requires (tests, ``CSMS_API_TOKEN``).
        credentials: what checks bearer tokens (the generated, rotatable API token); with
            ``api_token`` too, either is accepted.
        auth: ``"token"`` (``api_token`` or ``credentials`` required) or ``"none"``: no
            authentication, for a lab on loopback (the composition root refuses other binds).
        trusted_hosts: Host header values answered (``*.example.com``, ``*`` = any); others 400.
        ocpp_port: the OCPP endpoint's port, named to stations that reach the API port instead.
        ocpp_tls: whether that endpoint is ``wss://``.
        call_timeout: seconds to wait for a station's answer when a request names no timeout.
        version: reported by ``/healthz`` and the OpenAPI document.
        files: the file service and security repositories; adds ``/files`` (for stations,
            authenticated by the URL token) and the firmware/diagnostics/security routes.
        device_model: what 2.x stations reported about themselves; adds the device-model,
            monitor, report and event routes under ``/stations/{id}``.
        notifications: the station notifications kept whole; adds ``/stations/{id}/notifications``.
        remote_starts: reads the TransactionEvents that carried a remoteStartId; adds
            ``/stations/{id}/remote-starts/{remoteStartId}``.
        soap: the SOAP stations online (issue 12): a station's ``online``, ``ocpp_version`` and
            ``transport`` come from it when it has no WebSocket session.
        station_load: the station endpoint's connection counters, shown by ``/healthz`` and
            ``/readyz`` (503 when saturated).
        tariffs: the tariff pricer and transactions; adds ``/tariffs`` and
            ``/transactions/{id}/cost`` (block I).
        tokens: the id-token store; adds ``/tokens`` (CRUD, import, export).
        transactions: the ledger and the transaction repository; adds ``/transactions`` and
            the meter-value series, and the running transaction per EVSE in a station's detail.
        ev_schedules: the ISO 15118 scheduler; adds ``/stations/{id}/evses/{evseId}/ev-schedule``
            (K16 renegotiation).
        commands: the typed commands' services and job runner; adds
            ``/stations/{id}/commands/{intent}``, ``/commands/{intent}``, ``/jobs`` and the
            tracked state (``/reservations``, ``/stations/{id}/charging-profiles``, ...).
        identity: operator accounts, API tokens, sessions and the audit log; adds ``/auth``,
            ``/users``, ``/api-tokens`` and ``/audit``. Without it only the bootstrap token
            (``api_token``/``credentials``, an admin) is accepted and nothing is audited.
        events: the event bus (adds ``/events``) and, with its ``webhooks`` repository,
            ``/webhooks``.
        message_log: the OCPP message log; adds ``/messages`` and ``/stations/{id}/messages``.
        metrics: what ``/metrics`` reports (Prometheus; behind the bearer token like ``/api/v1``).
        database: ``/readyz`` answers 503 while it fails (SELECT 1, cached about a second).
        connection_history: adds ``/stations/{id}/connections`` (connects and disconnects).
    """
    checks = _credentials(auth, api_token, credentials)
    if call_timeout <= 0:
        raise ValueError("call_timeout must be positive")
    hosts = HostPatterns(trusted_hosts)

    app = CsmsApi(
        title="csms HTTP API",
        description=_DESCRIPTION,
        version=version,
        openapi_tags=_TAGS
        + (_FILES_TAGS if files is not None else [])
        + (_DEVICE_MODEL_TAGS if device_model or notifications else [])
        + (_TOKENS_TAGS if tokens is not None else [])
        + (_TRANSACTION_TAGS if transactions is not None else [])
        + (_TRACKED_TAGS if commands is not None else [])
        + (_IDENTITY_TAGS if identity is not None else [])
        + (_EVENTS_TAGS if events is not None else [])
        + (_MESSAGE_LOG_TAGS if message_log is not None else []),
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    attach_context(
        app,
        ApiContext(
            stations=stations,
            gateway=gateway,
            call_timeout=call_timeout,
            version=version,
            soap=soap,
        ),
    )
    install_error_handlers(app)

    dependencies: list[Depends] = []
    responses: dict[int | str, dict[str, Any]] = {
        503: {"model": Problem, "description": "Storage unavailable"}
    }
    if checks is not None:
        # Declares the scheme in OpenAPI; the middleware enforces it before any parsing.
        dependencies.append(Security(bearer_scheme()))
        responses[401] = {"model": Problem, "description": _NO_TOKEN}
    routers = [stations_router(), commands_router()]
    if files is not None:
        attach_files(app, files)
        routers += [files_router(), security_router()]
        app.include_router(file_service_router())
    if device_model is not None:
        attach_device_model(app, device_model)
        routers.append(device_model_router())
    if notifications is not None:
        attach_notifications(app, notifications)
        routers.append(notifications_router())
    if remote_starts is not None:
        attach_remote_starts(app, remote_starts)
        routers.append(remote_starts_router())
    if tariffs is not None:
        attach_tariffs(app, tariffs)
        routers.append(tariffs_router())
    if tokens is not None:
        attach_tokens(app, tokens)
        routers.append(tokens_router())
    if transactions is not None:
        attach_transactions(app, transactions)
        routers.append(transactions_router())
    if ev_schedules is not None:
        attach_ev_schedules(app, ev_schedules)
        routers.append(ev_schedules_router())
    if commands is not None:
        attach_typed_commands(app, commands)
        attach_tracked_state(app, commands.services)
        routers += [
            typed_commands_router(commands.services),
            tracked_state_router(commands.services),
        ]
    if identity is not None:
        attach_identity(app, identity)
        routers.append(identity_router())
    if events is not None:  # events (issue 9)
        attach_events(app, events)
        routers.append(events_router())
        if events.webhooks is not None:
            routers.append(webhooks_router())
    if message_log is not None:
        attach_message_log(app, message_log)
        routers.append(message_log_router())
    if connection_history is not None:  # the dashboard's station page (issue 10)
        attach_connection_history(app, connection_history)
        routers.append(connection_history_router())
    for router in routers:
        app.include_router(
            router, prefix=API_PREFIX, dependencies=dependencies, responses=responses
        )
    app.include_router(health_router(station_load, database))
    if metrics is not None:
        attach_metrics(app, metrics)
        app.include_router(metrics_router(), dependencies=dependencies, responses=responses)
    docs_paths = install_docs(app, title="csms HTTP API")

    # Added innermost first: hint → host → auth (roles, audit) → media type → routes.
    app.add_middleware(
        JsonBodyMiddleware,
        binary=[b for r in routers for b in binary_routes(r.routes, prefix=API_PREFIX)],
        exempt_prefixes=("/files/",),
        strict_bodyless=checks is None,
    )
    app.add_middleware(
        AuthMiddleware,
        credentials=checks,
        identity=identity,
        routes=app.routes,
        public_paths=frozenset((*HEALTH_PATHS, *docs_paths)),
        public_prefixes=("/files/", ASSETS_PATH + "/"),
        open_access=checks is None,
    )
    route_roles(app.routes)  # an unknown x-required-role fails here, not at the first request
    app.add_middleware(TrustedHostMiddleware, hosts=hosts)
    app.add_middleware(OcppHintMiddleware, ocpp_port=ocpp_port, ocpp_tls=ocpp_tls)
    return app


class _AnyOf:
    """Accepts a token any of several credentials accepts."""

    def __init__(self, *credentials: ApiCredentials) -> None:
        self._credentials = credentials

    def verify(self, token: str) -> bool:
        return any(c.verify(token) for c in self._credentials)


def _credentials(
    auth: str, api_token: str | None, credentials: ApiCredentials | None
) -> ApiCredentials | None:
    """What checks tokens, or None for ``auth="none"``; refuses every ambiguous combination."""
    if auth == "none":
        if api_token is not None or credentials is not None:
            raise ValueError("auth='none' takes no api_token or credentials")
        return None
    if auth != "token":
        raise ValueError(f"auth must be 'token' or 'none', not {auth!r}")
    if api_token is not None and not api_token:
        raise ValueError("api_token must not be empty")
    given = [c for c in (FixedApiToken(api_token) if api_token else None, credentials) if c]
    if not given:
        raise ValueError(
            "the API fails closed: pass api_token or credentials, or auth='none' explicitly"
        )
    return given[0] if len(given) == 1 else _AnyOf(*given)
