"""csms: an OCPP Charging Station Management System (1.6J, 2.0.1, 2.1)."""

__version__ = "0.1.0"
