"""Events pushed to operators: the in-process bus, the emitters of committed facts, the
``command.result`` gateway and webhook delivery (issue 9, scope 8). See docs/api.md
"Events (SSE) and webhooks" and docs/behaviour.md "Events and webhooks"."""

from csms.events.bus import InProcessBus
from csms.events.commands import EventingGateway
from csms.events.emitting import (
    EmittingCharging,
    EmittingFiles,
    EmittingSecurity,
    EmittingStations,
    EmittingTransactions,
    MeterSampler,
)
from csms.events.webhooks import (
    InvalidWebhookUrl,
    WebhookDispatcher,
    WebhookOptions,
    check_url,
    new_secret,
)

__all__ = [
    "EmittingCharging",
    "EmittingFiles",
    "EmittingSecurity",
    "EmittingStations",
    "EmittingTransactions",
    "EventingGateway",
    "InProcessBus",
    "InvalidWebhookUrl",
    "MeterSampler",
    "WebhookDispatcher",
    "WebhookOptions",
    "check_url",
    "new_secret",
]
