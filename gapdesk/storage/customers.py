"""Customers' trust evidence, updated in the transaction that records an outcome.

The rule is :mod:`gapdesk.trust`; this module only keeps its evidence in the
``customers`` table, one row per customer id (Rasa's sender id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gapdesk.storage.models import Customer, as_utc
from gapdesk.trust import Evidence, Outcome, TrustRule

# How `gapdesk db prune` begins the pseudonym that replaces an old customer id.
PSEUDONYM_PREFIX = "anon-"


def evidence_of(customer: Customer) -> Evidence:
    """A customer row's evidence, as of its last update."""
    return Evidence(customer.good, customer.bad, as_utc(customer.updated_at))


def add_outcome(
    session: Session,
    rule: TrustRule,
    record: dict[str, Any],
    outcome: Outcome,
    **counts: int,
) -> None:
    """Add ``outcome`` (at the record's time) to its customer's evidence, and ``counts``
    to the customer's counters.

    The customer's row is created if missing (two writers cannot both insert it) and
    locked on PostgreSQL, so two action servers recording at once lose no update.
    """
    if not outcome and not any(counts.values()):
        return
    created = record["created_at"]
    now = as_utc(created if isinstance(created, datetime) else datetime.fromisoformat(created))
    customer_id = record["conversation_id"]
    values = {
        "id": customer_id,
        "channel": record.get("channel") or "unknown",
        "good": 0.0,
        "bad": 0.0,
        "first_seen": now,
        "updated_at": now,
        "answers": 0,
        "thumbs_down": 0,
        "handovers": 0,
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(Customer).values(**values).on_conflict_do_nothing())
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(Customer).values(**values).on_conflict_do_nothing())
    elif session.get(Customer, customer_id) is None:
        session.add(Customer(**values))
        session.flush()
    customer = _locked(session, customer_id)
    if customer is None:  # deleted by `gapdesk db prune` since the insert above
        session.add(Customer(**values))
        session.flush()
        customer = _locked(session, customer_id)
    if customer is None:  # never lose the record for trust's sake: it is only evidence
        return
    evidence = rule.add(evidence_of(customer), outcome, now)
    customer.good, customer.bad, customer.updated_at = evidence.good, evidence.bad, evidence.at
    for name, n in counts.items():
        setattr(customer, name, getattr(customer, name) + n)


def _locked(session: Session, customer_id: str) -> Customer | None:
    """The customer's row, locked until the transaction ends (on PostgreSQL)."""
    return session.scalars(
        select(Customer)
        .where(Customer.id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
