"""The bot's words: Rasa's domain responses, picked and filled the way Rasa does it.

Everything the bot says in its own words is an ``utter_*`` response of the domain
(``bot/domain/responses.yml``). Actions send them with
``dispatcher.utter_message(response="utter_...", **values)`` and Rasa fills the
``{placeholders}``. Two places need the words themselves, without Rasa:

- an action records what it said (a turn's answer text) and reads the fixed button it
  appends to buttons it builds; it reads them from the domain Rasa sends with every
  call (:func:`of_domain`), so they are the words of the model Rasa runs;
- the console pushes messages into a conversation through Rasa's HTTP API as ``bot``
  events, which Rasa sends verbatim; it reads the domain files (:func:`load_responses`).

:func:`variation` picks what Rasa's response generator picks: a variation for the
channel if there is one, else a generic one. Rasa picks at random among several; gapdesk
gives each response one variation (per channel), so what is recorded is what was said.
:func:`fill` fills placeholders as Rasa's template interpolation does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from gapmodel.errors import ConfigurationError

Responses = Mapping[str, Sequence[Mapping[str, Any]]]

DEFAULT_DOMAIN = Path("bot/domain")
# What a variation says; the rest ("channel", "id", "condition", "metadata") is about it.
_MESSAGE_KEYS = ("text", "buttons", "image", "custom", "attachment", "quick_replies", "elements")
# "{name}" is a placeholder, "{{" and "}}" are escaped braces (as in str.format).
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^\n{}]+?)\}")


def load_responses(domain: Path = DEFAULT_DOMAIN) -> dict[str, list[dict[str, Any]]]:
    """The responses of a domain file, or of every domain file in a folder (Rasa merges
    a domain folder)."""
    domain = Path(domain)
    files = [domain]
    if domain.is_dir():
        files = sorted(p for p in domain.rglob("*") if p.suffix in (".yml", ".yaml"))
    responses: dict[str, list[dict[str, Any]]] = {}
    for file in files:
        try:
            document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as error:
            raise ConfigurationError(f"cannot read the domain file {file}: {error}") from error
        responses.update(document.get("responses") or {})
    if not responses:
        raise ConfigurationError(f"no responses in the domain at {domain}")
    return responses


def of_domain(domain: Mapping[str, Any]) -> Responses:
    """The responses of the domain Rasa sends to an action."""
    responses = domain.get("responses")
    if not responses:
        raise ConfigurationError("the domain Rasa sent has no responses")
    return responses


def variation(responses: Responses, name: str, channel: str | None = None) -> Mapping[str, Any]:
    """The variation of response ``name`` for ``channel``: its own if it has one, else
    the first generic one. Conditional variations are not used by gapdesk."""
    variations = [v for v in responses.get(name) or [] if not v.get("condition")]
    for wanted in (channel, None):
        for candidate in variations:
            if candidate.get("channel") == wanted:
                return candidate
    raise ConfigurationError(f"the domain has no response {name!r} (for channel {channel!r})")


def fill(value: Any, values: Mapping[str, Any], where: str = "a response") -> Any:
    """``value`` (a string, or lists and mappings of them) with ``{name}`` replaced by
    ``values[name]``."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            placeholder = match.group(1)
            if placeholder is None:
                return match.group(0)[0]  # "{{" -> "{", "}}" -> "}"
            if placeholder not in values:
                raise ConfigurationError(f"{where} needs a value for {{{placeholder}}}")
            return str(values[placeholder])

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, Mapping):
        return {key: fill(item, values, where) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [fill(item, values, where) for item in value]
    return value


def render(
    responses: Responses, name: str, channel: str | None = None, **values: Any
) -> dict[str, Any]:
    """The message response ``name`` says (text, buttons, ...), its placeholders filled."""
    chosen = variation(responses, name, channel)
    return {
        key: fill(chosen[key], values, name) for key in _MESSAGE_KEYS if chosen.get(key) is not None
    }


def text(responses: Responses, name: str, channel: str | None = None, **values: Any) -> str:
    """What response ``name`` says in words (its buttons' placeholders need no values)."""
    return str(fill(variation(responses, name, channel).get("text") or "", values, name))


def button(
    responses: Responses, name: str, payload: str, channel: str | None = None
) -> dict[str, Any]:
    """The button of response ``name`` that sends ``payload``, to go with other buttons."""
    for candidate in variation(responses, name, channel).get("buttons") or []:
        if candidate.get("payload") == payload:
            return dict(candidate)
    raise ConfigurationError(f"the response {name!r} has no button sending {payload!r}")
