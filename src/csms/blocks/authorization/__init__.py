"""C Authorization: Authorize (1.6 §4.1; 2.0.1 C01) against the id-token store
(:mod:`.handlers`), the operator commands that maintain the store (:mod:`.commands`), and
ClearCache (:mod:`.cache`)."""

from csms.blocks.authorization.handlers import AuthorizationBlock

__all__ = ["AuthorizationBlock"]
