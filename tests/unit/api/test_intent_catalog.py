"""Every typed command of the blocks is reachable through an intent, so a new one cannot be
forgotten by the API; and the catalog's mapping rules hold without a station."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import csms.blocks
from csms.api.intents.catalog import INTENTS, NOT_OPERATOR_COMMANDS, intents_by_name
from csms.container import SENT_BY_COMMANDS


def _typed_command_classes() -> set[type]:
    """Every class of ``csms.blocks`` tagged with the action it sends (``@sends``)."""
    found: set[type] = set()
    for info in pkgutil.walk_packages(csms.blocks.__path__, "csms.blocks."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            mine = inspect.isclass(value) and value.__module__ == module.__name__
            if mine and getattr(value, "_ocpp_sends", None):
                found.add(value)
    return found


def test_every_typed_command_class_is_reachable_through_an_intent() -> None:
    classes = _typed_command_classes()
    assert len(classes) >= 30  # the walk found them (not an empty set passing vacuously)
    covered = {cls for intent in INTENTS for cls in intent.covers}
    missing = sorted(cls.__qualname__ for cls in classes - covered)
    assert missing == [], f"typed commands no intent reaches: {missing}"


def test_every_action_the_blocks_send_is_sent_by_some_intent() -> None:
    sent = frozenset().union(*(intent.sends for intent in INTENTS))
    missing = sorted((str(v), a) for v, a in SENT_BY_COMMANDS - NOT_OPERATOR_COMMANDS - sent)
    assert missing == [], f"CSMS-initiated actions no intent sends: {missing}"
    assert sent <= SENT_BY_COMMANDS  # an intent sends nothing the blocks do not declare


def test_intent_names_are_unique_url_segments_with_versions() -> None:
    names = [intent.name for intent in INTENTS]
    assert len(names) == len(set(names)) == len(intents_by_name())
    for intent in INTENTS:
        assert intent.name.replace("-", "").isalpha() and intent.name.islower()
        assert intent.versions, intent.name
        # Offered on exactly the versions it has something to send to.
        assert {v for v, _ in intent.sends} == intent.versions, intent.name
