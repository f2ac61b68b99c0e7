"""``gapdesk demo seed``: the demo bank's records, and what it says it seeded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gapdesk.cli import main
from gapdesk.demo.bank import DemoCard, DemoTransfer
from gapdesk.storage.store import make_engine


def test_seed_creates_the_records_and_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'gapdesk.db'}"
    monkeypatch.setenv("GAPDESK_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)  # so no .env of the working directory is read
    assert main(["demo", "seed"]) == 0
    assert capsys.readouterr().out == (
        "demo bank seeded: cards ending 1937, 4821, 7005; "
        "transfers TR-104233, TR-220871, TR-553201\n"
    )
    with Session(make_engine(url)) as session:
        assert sorted(session.scalars(select(DemoCard.last_four))) == ["1937", "4821", "7005"]
        assert len(session.scalars(select(DemoTransfer.reference)).all()) == 3
