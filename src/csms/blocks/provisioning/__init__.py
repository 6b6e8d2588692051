"""B Provisioning: BootNotification and Heartbeat (1.6 §4.2, §4.6; 2.0.1 B01–B04)."""

from csms.blocks.provisioning.handlers import ProvisioningBlock

__all__ = ["ProvisioningBlock"]
