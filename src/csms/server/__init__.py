"""The station gateway: an asyncio + websockets frontend that pumps the sans-I/O RPC core.

Exception tree of this layer: :class:`HandshakeRefused` (an HTTP answer instead of an upgrade).
Domain errors from the blocks are translated to CALLERRORs here; CALL outcomes are translated to
domain errors for the API (see :mod:`csms.server.connection`).
"""
