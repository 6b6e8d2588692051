"""OCPP 1.5 on the shared model: its messages as JSON, for 1.5 over OCPP-J ("ocpp1.5") and SOAP.

OCPP 1.5 has no official JSON schemas; its message types are those of the two 1.5 WSDLs (e-laad,
shipped unmodified in ``csms/soap/wsdl/``). :mod:`.schemas` derives a JSON Schema per message from
their XML Schema types, :mod:`.mapping` maps 1.5 payloads onto the 1.6 ones the handlers and typed
commands speak (and back), and :mod:`.dialect` puts both together for one 1.5J connection.
"""

from csms.messages.ocpp15.dialect import SUBPROTOCOL, Ocpp15Json
from csms.messages.ocpp15.schemas import Ocpp15Schemas

__all__ = ["SUBPROTOCOL", "Ocpp15Json", "Ocpp15Schemas"]
