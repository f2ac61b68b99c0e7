"""The project's files agree with each other: domain, rules, stories, actions and answers."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

from gapdesk.datasets import read_rasa_nlu
from gapdesk.ratings import FEEDBACK_INTENT
from gapmodel.knowledge import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent


def _domain() -> dict:
    merged: dict = {"intents": [], "actions": [], "responses": {}, "forms": {}, "slots": {}}
    for path in sorted((ROOT / "bot" / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text(encoding="utf-8"))
        merged["intents"] += part.get("intents", [])
        merged["actions"] += part.get("actions", [])
        for key in ("responses", "forms", "slots"):
            merged[key].update(part.get(key, {}))
    return merged


def _rule_steps() -> list[dict]:
    steps = []
    for folder in ("rules", "stories"):
        for path in sorted((ROOT / "data" / folder).glob("*.yml")):
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            for block in document.get("rules", []) + document.get("stories", []):
                steps += block.get("steps", [])
    return steps


def test_domain_actions_are_exactly_the_actions_the_server_registers() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")  # as `python -m rasa_sdk --actions actions` does
    assert set(_domain()["actions"]) == set(executor.actions)


_RESPONSE_NAME = re.compile(r"utter_\w+")


def _strings(path: Path) -> list[ast.Constant]:
    """The string constants of a module that may be values: neither a mapping's key (such
    as Rasa's "utter_action" metadata) nor a piece of an f-string."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    not_values = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            not_values |= {id(key) for key in node.keys}
        elif isinstance(node, ast.JoinedStr):
            not_values |= {id(part) for part in node.values}
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in not_values
    ]


def _responses_named_in_code() -> dict[str, str]:
    """Every response name the code spells out (``response="utter_..."``, constants), and
    where: actions, the console, gapdesk and bot/ (bot/policies.py's apology)."""
    named = {}
    for package in ("actions", "console", "gapdesk", "bot"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in _strings(path):
                if _RESPONSE_NAME.fullmatch(node.value):
                    named[node.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return named


def test_responses_used_are_defined_and_defined_are_used() -> None:
    domain = _domain()
    defined = set(domain["responses"])
    in_code = _responses_named_in_code()
    undefined = {name: where for name, where in in_code.items() if name not in defined}
    assert not undefined, f"responses the code uses but the domain does not define: {undefined}"
    in_data = {s["action"] for s in _rule_steps() if str(s.get("action", "")).startswith("utter_")}
    assert in_data <= defined, f"rules or stories use undefined responses: {in_data - defined}"
    asked_by_forms = {
        f"utter_ask_{slot}" for form in domain["forms"].values() for slot in form["required_slots"]
    }
    unused = defined - set(in_code) - in_data - asked_by_forms
    assert not unused, f"responses nothing uses (code, rules, stories or forms): {unused}"


def test_each_response_says_one_thing_per_channel() -> None:
    # Actions record the words they said, and the console pushes some itself
    # (gapdesk/responses.py); with a choice of variations Rasa would pick at random.
    for name, variations in _domain()["responses"].items():
        channels = [v.get("channel") for v in variations]
        assert len(channels) == len(set(channels)), f"{name} has several variations per channel"
        assert not any(v.get("condition") for v in variations), f"{name} has a condition"


def test_every_nlu_intent_is_in_the_domain_and_back() -> None:
    # Only buttons send the feedback intent (Rasa reads payloads without its NLU).
    button_only = {FEEDBACK_INTENT}
    nlu_intents = {row.label for row in read_rasa_nlu([ROOT / "data" / "nlu"])}
    assert nlu_intents == set(_domain()["intents"]) - button_only


def test_every_gap_answered_intent_has_an_answer_and_every_answer_a_rule() -> None:
    steps = _rule_steps()
    gap_answered = {
        first["intent"]
        for first, second in zip(steps, steps[1:], strict=False)
        if "intent" in first and second.get("action") == "action_gap_answer"
    }
    kb = KnowledgeBase.load(ROOT / "data" / "knowledge_base")
    assert gap_answered == set(kb.answers)
    assert set(kb.answers) <= set(_domain()["intents"])


def test_knowledge_base_titles_fit_on_a_button() -> None:
    kb = KnowledgeBase.load(ROOT / "data" / "knowledge_base")
    assert all(0 < len(a.title) <= 40 and a.text for a in kb.answers.values())


def test_every_flow_an_answer_starts_is_a_form_of_the_domain() -> None:
    kb = KnowledgeBase.load(ROOT / "data" / "knowledge_base")
    flows = {a.start_flow for a in kb.answers.values() if a.start_flow}
    assert flows and flows <= set(_domain()["forms"])


def test_both_apologies_are_the_same_response() -> None:
    # bot/policies.py runs inside Rasa (its environment, not this one): read, not imported.
    from actions.safety import APOLOGY

    tree = ast.parse((ROOT / "bot" / "policies.py").read_text(encoding="utf-8"))
    [policy_apology] = [
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and [getattr(t, "id", None) for t in node.targets] == ["APOLOGY_RESPONSE"]
        and isinstance(node.value, ast.Constant)
    ]
    assert policy_apology == APOLOGY
    assert APOLOGY in _domain()["responses"]


def test_the_failure_count_slot_is_declared_in_the_domain() -> None:
    from gapdesk.conversation import FAILURES_SLOT

    assert FAILURES_SLOT in _domain()["slots"]
