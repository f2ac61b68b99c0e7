"""What the fuzz benchmark found in the console's forms (tests/e2e/test_fuzz.py)."""

from __future__ import annotations

import pytest

from tests.console.conftest import escalate, sign_in


@pytest.mark.parametrize("turn_id", [2**63, 10**20])
def test_a_turn_id_no_database_integer_holds_is_no_such_turn(
    app_factory, console_store, turn_id: int
) -> None:
    """It answered 500: SQLite (and PostgreSQL's bigint) cannot even compare such a number."""
    escalate(console_store, "c1")
    client = app_factory()
    csrf = sign_in(client, "agent")
    labelled = client.post(f"/turns/{turn_id}/label", data={"csrf_token": csrf, "is_gap": "no"})
    assert labelled.status_code == 404 and "No such turn." in labelled.text
    largest = client.post(f"/turns/{2**63 - 1}/label", data={"csrf_token": csrf, "is_gap": "no"})
    assert largest.status_code == 404
