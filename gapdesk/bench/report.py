"""What every benchmark report shares: its two files and how timings are summed up."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def write_report(out: Path, report: dict[str, Any], markdown: str) -> None:
    """``report.json`` (every figure) and ``report.md`` (the table people read) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (out / "report.md").write_text(markdown, "utf-8")


def p50_p99(timings_ms: Sequence[float], digits: int) -> tuple[float, float]:
    """Median and 99th percentile of timings, rounded to ``digits`` decimals."""
    p50, p99 = np.percentile(np.asarray(timings_ms, dtype=float), [50, 99])
    return round(float(p50), digits), round(float(p99), digits)
