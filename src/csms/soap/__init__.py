"""OCPP over SOAP (ocpp1.5s, ocpp1.6s): the station-initiated direction (CentralSystemService).

A second endpoint beside the WebSocket gateway (:mod:`csms.server`): each HTTP POST carries one
SOAP 1.2 request, which is parsed with a hardened parser (:mod:`csms.messages.soap.xml`),
read (:mod:`csms.messages.soap.envelope`), validated against the XML Schema of the official
WSDL (:mod:`csms.messages.soap.service`), mapped onto the OCPP-J 1.6 payload
(:mod:`csms.soap.mapping`) and handled by the same :class:`~csms.blocks.dispatch.Dispatcher` as
a 1.6J CALL (:mod:`csms.soap.gateway`). Presence (:mod:`csms.soap.presence`) stands in for a connection.
"""
