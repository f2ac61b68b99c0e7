"""Rasa checks each action server response against its schema with a validator built once.

Rasa 3.6 validates every response of the action server with ``jsonschema.validate``,
which first checks the schema itself against the JSON Schema metaschema, on every
call. Profiled under load (py-spy, ``gapdesk benchmark load``), that check was about
half of the Rasa server's CPU time per turn of this bot. The schema never changes, so
here it is checked once and its validator kept; every response is still validated
against it, and an invalid one is refused with Rasa's own message, as before.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@lru_cache(maxsize=1)
def response_validator() -> Validator:
    """The validator of Rasa's action-response schema; the schema is checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """``RemoteAction._validate_action_result`` with the kept validator."""
    try:
        response_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your "
            "response from the Action endpoint is valid. For more information about the "
            f"format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def install() -> None:
    """Use the kept validator in this Rasa process (called by bot/serve.py)."""
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
