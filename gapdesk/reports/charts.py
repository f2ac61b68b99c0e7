"""The report's charts as inline SVG, drawn with matplotlib without a display.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot, no global figure
state) and saved as SVG with text kept as text (``svg.fonttype = none``): the browser
draws it with a local font, so the page needs no font file and makes no request. The
XML prologue, metadata and namespace declarations are dropped: the HTML parser puts
inline ``<svg>`` in the SVG namespace by itself, and the page then holds no address at
all. Each function returns ``None`` when there is nothing to draw; the page says so.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT = 7.2, 2.6  # inches; the page scales the SVG to its column
BAR = "#3b6ea5"
SECOND = "#d08c2b"
GREY = "#9a9a9a"
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')


def per_day_chart(per_day: Sequence[dict[str, Any]]) -> str | None:
    """Messages per day as bars, conversations per day as a line."""
    if not per_day:
        return None
    days = range(len(per_day))
    with _style():
        figure, axis = _figure()
        axis.bar(days, [row["messages"] for row in per_day], color=BAR, label="messages")
        axis.plot(days, [row["conversations"] for row in per_day], color=SECOND,
                  marker="o", markersize=3, label="conversations")  # fmt: skip
        axis.set_ylabel("per day (UTC)")
        axis.yaxis.get_major_locator().set_params(integer=True)
        axis.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=2, frameon=False)
        _day_ticks(axis, per_day, days)
        return _svg(figure)


def per_channel_chart(per_channel: Sequence[dict[str, Any]]) -> str | None:
    """Messages per channel as horizontal bars, the busiest on top."""
    if not per_channel:
        return None
    rows = list(reversed(per_channel[:12]))
    with _style():
        figure, axis = _figure(height=0.5 + 0.3 * len(rows))
        axis.barh(range(len(rows)), [r["messages"] for r in rows], color=BAR)
        axis.set_yticks(range(len(rows)), [_label(r["channel"]) for r in rows])
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_xlabel("messages")
        return _svg(figure)


def satisfaction_chart(per_day: Sequence[dict[str, Any]]) -> str | None:
    """The mean 1-5 rating of each day with ratings; marker size grows with their number."""
    if not per_day:
        return None
    first = date.fromisoformat(per_day[0]["date"])
    days = [(date.fromisoformat(row["date"]) - first).days for row in per_day]
    with _style():
        figure, axis = _figure()
        axis.plot(days, [row["mean"] for row in per_day], color=BAR, linewidth=1)
        sizes = [12 + 6 * min(row["ratings"], 20) for row in per_day]
        axis.scatter(days, [row["mean"] for row in per_day], s=sizes, color=BAR, zorder=3)
        axis.set_ylim(0.8, 5.2)
        axis.set_yticks([1, 2, 3, 4, 5])
        axis.set_ylabel("mean rating (1-5)")
        axis.set_xlim(min(days) - 0.5, max(days) + 0.5)
        _day_ticks(axis, per_day, days)
        return _svg(figure)


def reliability_chart(bins: Sequence[dict[str, Any]]) -> str | None:
    """Observed gap rate against mean predicted probability per bin, with the diagonal
    of perfect calibration; marker size grows with the bin's number of labels."""
    if not bins:
        return None
    with _style():
        figure, axis = _figure(width=4.2, height=3.6)
        axis.plot([0, 1], [0, 1], color=GREY, linewidth=0.8, label="perfectly calibrated")
        predicted = [b["mean_predicted"] for b in bins]
        observed = [b["observed"] for b in bins]
        axis.plot(predicted, observed, color=BAR, linewidth=1)
        sizes = [12 + 4 * min(b["turns"], 50) for b in bins]
        axis.scatter(predicted, observed, s=sizes, color=BAR, zorder=3, label="labelled turns")
        axis.set(xlim=(0, 1), ylim=(-0.02, 1.02), xlabel="predicted gap probability")
        axis.set_ylabel("labelled a gap (share)")
        axis.legend(loc="upper left", frameon=False)
        return _svg(figure)


def _figure(width: float = WIDTH, height: float = HEIGHT) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axis = figure.add_subplot()
    axis.spines[["top", "right"]].set_visible(False)
    return figure, axis


def _style() -> Any:
    import matplotlib

    # Text stays text; ids are the same from one run to the next.
    return matplotlib.rc_context(
        {"svg.fonttype": "none", "svg.hashsalt": "gapdesk-report", "font.size": 9}
    )


def _day_ticks(
    axis: Any, per_day: Sequence[dict[str, Any]], positions: Sequence[int], most: int = 16
) -> None:
    """Day labels at their positions, every n-th only so that long periods stay
    readable: MM-DD, or full dates when the days span more than one year."""
    dates = [str(row["date"]) for row in per_day]
    one_year = len({day[:4] for day in dates}) == 1
    shown = list(range(0, len(dates), max(1, -(-len(dates) // most))))
    labels = [dates[i][5:] if one_year else dates[i] for i in shown]
    axis.set_xticks([positions[i] for i in shown], labels)
    axis.tick_params(axis="x", labelrotation=0 if len(shown) <= 8 else 45)


def _label(text: str) -> str:
    """Text as matplotlib draws it literally: a ``$`` would start mathematics."""
    return str(text).replace("$", r"\$")


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return _NAMESPACES.sub("", _METADATA.sub("", text))
