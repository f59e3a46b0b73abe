"""Check each action server response against Rasa's schema with one validator, built once.

Rasa 3.6 checks every response of the action server with ``jsonschema.validate(result,
schema)``, which first validates the schema itself against the JSON Schema meta-schema
(draft 2020-12, with dynamic references) and builds a new validator: about 20 ms of CPU per
custom action call on this machine, two thirds of the Rasa server's time per message in
bench/load.py's conversations (py-spy on a replica). The schema never changes, so
``install()`` replaces the check with a validator built once per process: the same schema,
the same verdict, the same ``ValidationError`` (jsonschema's best match, as ``validate``
raises), in under 1 ms.
"""

from __future__ import annotations

import functools
from typing import Any

_INSTALLED_MARK = "_bureau_cached_schema"


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    """A validator for Rasa's action response schema, the schema checked once."""
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Replace ``RemoteAction._validate_action_result`` once per process (safe to call again)."""
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if getattr(original, _INSTALLED_MARK, False):
        return

    @functools.wraps(original)
    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        error = best_match(response_validator().iter_errors(result))
        if error is None:
            return True
        # Rasa's own wording, so logs read the same as without this module.
        return original(self, result)

    setattr(_validate_action_result, _INSTALLED_MARK, True)
    RemoteAction._validate_action_result = _validate_action_result
