"""PNG plots for benchmark reports: ROC curves and a reliability diagram."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gapmodel.metrics import calibration_bins


def write_plots(out: Path, y: np.ndarray, scores: dict[str, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    figure, (roc, reliability) = plt.subplots(1, 2, figsize=(10, 4.5))
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y, score)
        roc.plot(fpr, tpr, label=name)
        bins = calibration_bins(y, score)  # the bins of the report's calibration error
        reliability.plot([b[1] for b in bins], [b[2] for b in bins], marker="o", label=name)
    roc.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    roc.set(title="Finding gaps (ROC)", xlabel="false alarm rate", ylabel="gaps caught")
    reliability.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    reliability.set(title="Calibration", xlabel="predicted gap probability", ylabel="observed")
    for axis in (roc, reliability):
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(out / "gap_detection.png", dpi=110)
    plt.close(figure)
