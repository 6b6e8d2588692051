"""OCPP over SOAP 1.2, the pure part both ends of the wire use: no sockets, no HTTP.

The hardened parser (:mod:`.xml`), the SOAP 1.2 envelope with its WS-Addressing and
``chargeBoxIdentity`` headers (:mod:`.envelope`), the XML Schema of the shipped WSDLs and their
operations (:mod:`.service`), and the one exception, a fault to answer with (:mod:`.errors`).
The CSMS's SOAP gateway (:mod:`csms.soap`) and the simulator's SOAP stations
(:mod:`csms.simulator.soaplink`) both build on them.
"""
