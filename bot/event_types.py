"""Find an event's class by its type name in one dictionary lookup.

Rasa 3.6 turns every stored event back into an object with ``Event.resolve_by_type``, which
walks the whole tree of ``Event`` subclasses (recursively, checking each for abstract
methods) to find the one whose ``type_name`` matches. The tracker store does that for every
event of the conversation on every message: py-spy on the Rasa server in
bench/rest_latency.py put 13.5% of its time there, more than the sentence encoder.

``install()`` keeps a ``type_name -> class`` table built by the same walk, in the same order
(the first match wins, as in Rasa's loop). A name not in the table goes to Rasa's own method,
once: an event class imported later is found there (and remembered), and unknown names
behave as Rasa's do (``None`` for the old "topic" events, the default when given,
``ValueError`` otherwise).
"""

from __future__ import annotations

from typing import Any

_INSTALLED_MARK = "_bureau_event_table"


def _table() -> dict[str, Any]:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    table: dict[str, Any] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def install() -> None:
    """Replace ``Event.resolve_by_type`` once per process (safe to call again)."""
    from rasa.shared.core.events import Event

    original = Event.resolve_by_type
    if getattr(original, _INSTALLED_MARK, False):
        return
    known = _table()

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = known.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            if getattr(cls, "type_name", None) == type_name:
                known[type_name] = cls
        return cls

    setattr(resolve_by_type, _INSTALLED_MARK, True)
    Event.resolve_by_type = staticmethod(resolve_by_type)
