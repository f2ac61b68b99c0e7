"""``gapdesk report``: a self-contained HTML page and report.json on a period of traffic."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from gapdesk.settings import Settings

_AGO = re.compile(r"^(\d+)([dh])$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = commands.add_parser(
        "report",
        help="write report.html and report.json on a period of traffic",
        description=(
            "Read the period's turns, scores, feedback, labels and escalations from "
            "GAPDESK_DATABASE_URL and write OUT/report.html (one page, charts inside, "
            "no request off the machine) and OUT/report.json (the same figures). "
            "Times are UTC; docs/reports.md defines every figure."
        ),
    )
    period_arguments(report)
    report.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="folder for the two files"
    )
    report.set_defaults(handler=_cmd_report)


def period_arguments(parser: argparse.ArgumentParser) -> None:
    """--since, --until and --channel: the traffic a report (or its unmet needs) reads."""
    parser.add_argument(
        "--since",
        type=since_moment,
        default="7d",
        metavar="WHEN",
        help="start of the period: 7d or 24h (that long before now), or an ISO date or "
        "date-time (default: 7d)",
    )
    parser.add_argument(
        "--until",
        type=until_moment,
        default=None,
        metavar="DATE",
        help="end of the period: an ISO date (that whole day included) or date-time "
        "(excluded) (default: now)",
    )
    parser.add_argument(
        "--channel",
        default=None,
        metavar="NAME",
        help="only the conversations on this channel (socketio, telegram, rest, ...) "
        "(default: every channel)",
    )


def period_of(args: argparse.Namespace) -> tuple[datetime, datetime]:
    """The parsed period (until: now by default); an empty one is an error."""
    from gapmodel.errors import ConfigurationError

    since: datetime = args.since
    until: datetime = args.until or datetime.now(UTC)
    if since >= until:
        raise ConfigurationError(f"the period is empty: --since {since} is not before {until}")
    return since, until


def since_moment(text: str, now: datetime | None = None) -> datetime:
    """``7d`` / ``24h`` before ``now``, or an ISO date (its midnight) or date-time, in UTC."""
    ago = _AGO.match(text.strip())
    if ago:
        amount, unit = int(ago.group(1)), ago.group(2)
        span = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
        return (now or datetime.now(UTC)) - span
    return _iso_moment(text, day_end=False)


def until_moment(text: str) -> datetime:
    """An ISO date (the midnight after it: the day is included) or date-time, in UTC."""
    return _iso_moment(text, day_end=True)


def _iso_moment(text: str, day_end: bool) -> datetime:
    text = text.strip()
    try:
        if _DATE.match(text):
            day = date.fromisoformat(text)
            return datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=day_end)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither 7d/24h nor an ISO date (2026-12-01) or date-time"
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    # pandas, matplotlib, SQLAlchemy: only when a report is made
    from gapdesk.reports.build import build_report, write_report_files
    from gapdesk.storage.store import make_engine

    since, until = period_of(args)
    engine = make_engine(settings.database_url)
    try:
        report = build_report(engine, since, until, channel=args.channel or None)
    finally:
        engine.dispose()
    html_path, json_path = write_report_files(report, args.out)
    volume = report["volume"]
    on = f" on {args.channel}" if args.channel else ""
    print(f"{volume['messages']} messages in {volume['conversations']} conversations{on}, "
          f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    print(f"wrote {html_path} and {json_path}")
    return 0
