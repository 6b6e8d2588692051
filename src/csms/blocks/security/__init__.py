"""A Security: security events, certificate signing and management, station password rotation
(1.6 security whitepaper ed. 2 A01–A04, M03–M05; 2.0.1 A01–A04, M03–M05)."""

from csms.blocks.security.handlers import SecurityBlock

__all__ = ["SecurityBlock"]
