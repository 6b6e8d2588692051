"""The operator HTTP API: a FastAPI app, served on its own port, apart from the OCPP WebSockets."""

from csms.api.app import create_app

__all__ = ["create_app"]
