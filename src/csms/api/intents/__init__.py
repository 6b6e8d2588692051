"""Typed, version-neutral operator commands: one registry entry (an *intent*) per command.

An operator names the intent (``reset``, ``start``, ``reserve``...) with a version-neutral body;
csms spells it for each station's negotiated OCPP version through the typed command classes of
``csms.blocks.<block>.commands`` and answers one typed result. See :mod:`.registry` and
:mod:`.catalog`; jobs (async mode and fan-out) are in :mod:`.jobs`.
"""
