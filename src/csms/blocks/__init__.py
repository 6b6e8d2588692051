"""OCPP functional blocks: one package per block of OCPP 2.0.1 Part 2 (B Provisioning, G
Availability, E/J Transactions and Meter values, ...), with the 1.6 actions filed under the same
blocks. Each handler is tagged with the (version, action) pairs it serves; see :mod:`routing`."""
