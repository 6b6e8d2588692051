"""G Availability: StatusNotification (1.6 §4.9; 2.0.1 G01)."""

from csms.blocks.availability.handlers import AvailabilityBlock

__all__ = ["AvailabilityBlock"]
