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


def percentiles_ms(
    timings_ms: Sequence[float], points: Sequence[int] = (50, 99), digits: int = 1
) -> dict[str, float]:
    """``{"p50_ms": ..., "p99_ms": ...}`` of timings in milliseconds, rounded to
    ``digits`` decimals; NaN for each when there are none."""
    if not timings_ms:
        return {f"p{point}_ms": float("nan") for point in points}
    values = np.percentile(np.asarray(timings_ms, dtype=float), list(points))
    return {f"p{p}_ms": round(float(v), digits) for p, v in zip(points, values, strict=True)}
