"""Build the DataTransfer registry from configuration and from installed packages.

Two ways to register a vendor handler without changing csms:

* ``CSMS_DATA_TRANSFER_HANDLERS``: comma-separated ``vendorId=module:attribute`` entries;
* an installed package's entry point in the group ``csms.data_transfer``, named by the vendorId,
  with the value ``module:attribute`` (``[project.entry-points."csms.data_transfer"]`` in its
  pyproject.toml).

The attribute is either a handler (an object with an ``async handle(request)`` method) or a
callable taking no arguments that returns one (e.g. the handler's class).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from csms.blocks.datatransfer.registry import DataTransferRegistry
from csms.domain.datatransfer import VendorHandler

__all__ = ["ENTRY_POINT_GROUP", "HandlerConfigError", "build_registry", "parse_handler_spec"]

ENTRY_POINT_GROUP = "csms.data_transfer"


class HandlerConfigError(ValueError):
    """A DataTransfer handler could not be loaded; the message names the entry."""


def parse_handler_spec(spec: str) -> list[tuple[str, str]]:
    """Split ``"vendorA=pkg.mod:Handler, vendorB=pkg.other:make"`` into (vendorId, target) pairs."""
    pairs = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        vendor, sep, target = item.partition("=")
        if not sep or not vendor.strip() or ":" not in target:
            raise HandlerConfigError(
                f"DataTransfer handler {item!r}: expected vendorId=module:attribute"
            )
        pairs.append((vendor.strip(), target.strip()))
    return pairs


def _instantiate(name: str, obj: Any) -> VendorHandler:
    if not isinstance(obj, type) and callable(getattr(obj, "handle", None)):
        return obj  # type: ignore[no-any-return]  # duck-typed against the VendorHandler protocol
    if callable(obj):
        made = obj()
        if callable(getattr(made, "handle", None)):
            return made  # type: ignore[no-any-return]  # as above
    raise HandlerConfigError(f"DataTransfer handler {name!r} has no handle() method")


def _load_target(name: str, target: str) -> VendorHandler:
    module_name, _, attribute = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise HandlerConfigError(f"DataTransfer handler {name!r}: cannot load {target!r}") from exc
    return _instantiate(name, obj)


def build_registry(
    spec: str | None = None, *, use_entry_points: bool = True
) -> DataTransferRegistry:
    """Load the handlers named in ``spec`` and, if ``use_entry_points``, the installed ones.

    Raises:
        HandlerConfigError: an entry is malformed, cannot be imported, or names a vendor twice.
    """
    registry = DataTransferRegistry()
    loaded: list[tuple[str, VendorHandler]] = []
    if use_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                obj = ep.load()
            except (ImportError, AttributeError) as exc:
                raise HandlerConfigError(
                    f"DataTransfer entry point {ep.name!r} cannot be loaded: {ep.value!r}"
                ) from exc
            loaded.append((ep.name, _instantiate(ep.name, obj)))
    for vendor, target in parse_handler_spec(spec or ""):
        loaded.append((vendor, _load_target(vendor, target)))
    for vendor, handler in loaded:
        try:
            registry.register(vendor, handler)
        except (TypeError, ValueError) as exc:
            raise HandlerConfigError(str(exc)) from exc
    return registry
