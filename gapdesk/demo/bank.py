"""The demo bank's own records: cards and transfers that the bot's flows act on.

This stands in for the bank's core systems in the shipped demo, with a single demo
customer who owns every card and transfer. A real deployment replaces it with calls
to its own APIs behind the same small interface, passing the authenticated customer
(from the channel's login) so that nobody can act on another customer's card. Its tables
live beside gapdesk's (prefixed ``demo_``) and are created and seeded by
``gapdesk demo seed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Engine, Numeric, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

REFERENCE = re.compile(r"\b[Tt][Rr]-?(\d{6})\b")


class DemoBase(DeclarativeBase):
    pass


class DemoCard(DemoBase):
    __tablename__ = "demo_cards"

    last_four: Mapped[str] = mapped_column(String(4), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")


class DemoTransfer(DemoBase):
    __tablename__ = "demo_transfers"

    reference: Mapped[str] = mapped_column(String(9), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(64))
    amount: Mapped[float] = mapped_column(Numeric(10, 2))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    expected_by: Mapped[date] = mapped_column(Date)


SEED_CARDS = [
    ("4821", "Visa debit card"),
    ("1937", "Mastercard debit card"),
    ("7005", "virtual card"),
]
SEED_TRANSFERS = [
    ("TR-104233", "J. Okafor", 250.00, "GBP", "pending", date(2026, 12, 1)),
    ("TR-220871", "Lisbon Flats Lda", 1200.00, "EUR", "completed", date(2026, 11, 20)),
    ("TR-553201", "M. Novak", 80.50, "GBP", "returned", date(2026, 11, 18)),
]


@dataclass(frozen=True)
class TransferStatus:
    reference: str
    recipient: str
    amount: str
    status: str
    expected_by: date


def normalise_reference(text: str) -> str | None:
    """``"tr104233"`` -> ``"TR-104233"``; None when there is no reference."""
    match = REFERENCE.search(text or "")
    return f"TR-{match.group(1)}" if match else None


class DemoBank:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def seed(self) -> None:
        """Create the demo tables and (re)set their rows to the seed data."""
        DemoBase.metadata.create_all(self.engine)
        with Session(self.engine) as session, session.begin():
            for card in session.scalars(select(DemoCard)):
                session.delete(card)
            for transfer in session.scalars(select(DemoTransfer)):
                session.delete(transfer)
            session.flush()
            session.add_all(DemoCard(last_four=n, kind=k) for n, k in SEED_CARDS)
            session.add_all(
                DemoTransfer(
                    reference=r, recipient=p, amount=a, currency=c, status=s, expected_by=d
                )
                for r, p, a, c, s, d in SEED_TRANSFERS
            )

    def card(self, last_four: str) -> DemoCard | None:
        with Session(self.engine) as session:
            return session.get(DemoCard, last_four)

    def freeze(self, last_four: str) -> bool:
        """Freeze the card; False when there is no such card."""
        with Session(self.engine) as session, session.begin():
            card = session.get(DemoCard, last_four)
            if card is None:
                return False
            card.status = "frozen"
            return True

    def transfer(self, reference: str) -> TransferStatus | None:
        with Session(self.engine) as session:
            row = session.get(DemoTransfer, reference)
            if row is None:
                return None
            return TransferStatus(
                row.reference,
                row.recipient,
                f"{row.amount:,.2f} {row.currency}",
                row.status,
                row.expected_by,
            )
