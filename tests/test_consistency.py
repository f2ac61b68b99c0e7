"""The project's files agree with each other: domain, rules, actions, answers, README."""

from __future__ import annotations

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


def test_responses_used_are_defined_and_defined_are_used() -> None:
    domain = _domain()
    used = {s["action"] for s in _rule_steps() if str(s.get("action", "")).startswith("utter_")}
    used |= {
        f"utter_ask_{slot}" for form in domain["forms"].values() for slot in form["required_slots"]
    }
    used.add(
        (ROOT / "bot" / "policies.py").read_text().split('APOLOGY_RESPONSE = "')[1].split('"')[0]
    )
    assert used == set(domain["responses"])


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


def test_both_apologies_use_the_same_words() -> None:
    from actions.safety import TECHNICAL_PROBLEM

    [response] = _domain()["responses"]["utter_service_unavailable"]
    assert response["text"] == TECHNICAL_PROBLEM


def test_the_failure_count_slot_is_declared_in_the_domain() -> None:
    from gapdesk.conversation import FAILURES_SLOT

    assert FAILURES_SLOT in _domain()["slots"]
