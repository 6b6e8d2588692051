"""SOAP bodies ↔ the OCPP-J 1.6 payloads the handlers take, for 1.6 and 1.5.

1.6 SOAP bodies decode to the 1.6J payloads as they are (the WSDL and the JSON schemas name the
same fields). The 1.5 mapping onto the shared model is shared with 1.5 over OCPP-J and lives in
:mod:`csms.messages.ocpp15.mapping`; these are its SOAP entry points.
"""

from __future__ import annotations

from typing import Any

from csms.messages.ocpp15.mapping import request_to_json, response_from_json

__all__ = ["Payload", "request_to_json", "response_from_json"]

Payload = dict[str, Any]
