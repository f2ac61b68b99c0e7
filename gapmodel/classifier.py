"""The gap classifier: a calibrated additive model over numeric gap features.

:class:`GapClassifier` is a plain scikit-learn estimator (it passes
``sklearn.utils.estimator_checks``); :mod:`gapmodel.model` pairs it with the fitted
featurizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.interpolate import BSpline
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import SplineTransformer
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data


class GapClassifier(ClassifierMixin, BaseEstimator):
    """An additive model of the gap: one learned curve per feature, calibrated.

    Each feature is expanded into a cubic spline basis and a logistic regression weighs
    the bases, so the log-odds of a gap are a sum of one smooth curve per feature. A
    curve can bend where a straight line cannot (measured on BANKING77-OOS: +0.003
    AUROC with the bot's own out-of-scope examples, +0.007 without), and the score
    stays a sum of per-feature parts: a reason's weight is how far that feature's own
    curve raises the log-odds above a typical message's (:meth:`explained_proba`), not an
    approximation. Sigmoid or isotonic calibration on cross-validation folds
    makes 0.7 mean "70 % of such answers miss". ``C``, ``knots`` and ``calibration``
    are ordinary hyper-parameters.
    """

    def __init__(
        self, *, C: float = 1.0, knots: int = 5, calibration: str = "sigmoid", cv: int = 5
    ) -> None:
        self.C = C
        self.knots = knots
        self.calibration = calibration
        self.cv = cv

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> GapClassifier:
        """Fit on rows ``X`` labelled ``y``; ``sample_weight`` says how much each row counts
        (a customer's rating less than a person's verdict) in the curves and calibration."""
        X, y = validate_data(self, X, y)
        sample_weight = _check_sample_weight(sample_weight, X)
        self.classes_ = unique_labels(y)
        additive = _Additive(C=self.C, knots=self.knots)
        counts = np.unique(y, return_counts=True)[1]
        folds: Any = self.cv  # explicit splits (a CV splitter or a list) are used as given
        if isinstance(self.cv, int):
            folds = int(min(self.cv, counts.min())) if len(self.classes_) > 1 else 0
        if not isinstance(folds, int) or folds >= 2:
            # ensemble=False: calibrate on out-of-fold predictions, then keep one model
            # fitted on all the data (scoring one message costs one model, not five).
            self.calibrated_ = CalibratedClassifierCV(
                additive, method=self.calibration, cv=folds, ensemble=False
            )
            self.calibrated_.fit(X, y, sample_weight=sample_weight)
            fitted = self.calibrated_.calibrated_classifiers_[0]
            # Two classes: one calibrator, of the gap's score (more: no shortcut below).
            self.calibrator_ = fitted.calibrators[0] if len(self.classes_) == 2 else None
            additive = fitted.estimator
        else:  # too few examples of a class to calibrate on folds
            self.calibrated_ = additive.fit(X, y, sample_weight=sample_weight)
            self.calibrator_ = None
        self.curves_: list[BSpline] = []
        if len(self.classes_) == 2:  # a gap or not: the case gapdesk scores
            self._keep_curves(additive)
            # An explanation is relative to a typical message: each part's training mean.
            self.typical_parts_ = np.average(self._parts(X), axis=0, weights=sample_weight)
        return self

    def _keep_curves(self, additive: _Additive) -> None:
        """Each feature's curve as one spline, evaluated directly when scoring.

        The same numbers as the fitted pipeline (a test checks), several times cheaper:
        scikit-learn's transform builds the whole basis matrix and checks its input at
        every step, over a millisecond for one message.
        """
        splines, linear = additive.splines_, additive.linear_
        weights = linear.coef_[0].astype(np.float64).reshape(len(splines.bsplines_), -1)
        self.curves_ = [
            BSpline.construct_fast(basis.t, w, basis.k, extrapolate=False)
            for basis, w in zip(splines.bsplines_, weights, strict=True)
        ]
        # Outside the range seen in training a curve stays at its last value.
        self.curve_ranges_ = [(b.t[b.k], b.t[-b.k - 1]) for b in splines.bsplines_]
        self.intercept_ = float(linear.intercept_[0])

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        X = validate_data(self, X, reset=False)
        if len(self.classes_) == 1:
            return np.ones((X.shape[0], 1))
        if not self.curves_:  # more than two classes: no shortcut
            return self.calibrated_.predict_proba(X)
        gap = self._gap_probability(self._parts(X))
        return np.column_stack([1.0 - gap, gap])

    def _gap_probability(self, parts: np.ndarray) -> np.ndarray:
        log_odds = self.intercept_ + parts.sum(axis=1)
        if self.calibrator_ is None:
            return 1.0 / (1.0 + np.exp(-log_odds))
        return np.clip(self.calibrator_.predict(log_odds), 0.0, 1.0)

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "calibrated_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _parts(self, X: np.ndarray) -> np.ndarray:
        """Each feature's term of the log-odds (rows x features)."""
        X = np.asarray(X, dtype=np.float64)  # what scipy's splines evaluate
        columns = [
            curve(np.clip(X[:, j], low, high))
            for j, (curve, (low, high)) in enumerate(
                zip(self.curves_, self.curve_ranges_, strict=True)
            )
        ]
        return np.column_stack(columns)

    def explained_proba(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """The gap probability of each row, and how far each feature pushes its log-odds
        above a typical message's (0 where it pulls below): one evaluation of the curves
        for both, as scoring a message needs both."""
        check_is_fitted(self, "calibrated_")
        X = validate_data(self, X, reset=False)
        if not self.curves_:
            return self.predict_proba(X)[:, -1], np.zeros_like(X, dtype=float)
        parts = self._parts(X)
        return self._gap_probability(parts), np.maximum(parts - self.typical_parts_, 0.0)


class _Additive(ClassifierMixin, BaseEstimator):
    """Each feature's cubic spline basis, weighed by a logistic regression.

    A ``Pipeline`` of the two would do, but it hides ``sample_weight`` from the
    calibration (which then ignores the weights of the curves, with a warning).
    """

    def __init__(self, *, C: float = 1.0, knots: int = 5) -> None:
        self.C = C
        self.knots = knots

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _Additive:
        splines = SplineTransformer(n_knots=self.knots, degree=3)
        self.splines_ = splines.fit(X, sample_weight=sample_weight)
        self.linear_ = LogisticRegression(C=self.C, max_iter=3000)
        self.linear_.fit(self.splines_.transform(X), y, sample_weight=sample_weight)
        self.classes_ = self.linear_.classes_
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "linear_")
        return self.linear_.decision_function(self.splines_.transform(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "linear_")
        return self.linear_.predict_proba(self.splines_.transform(X))

    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "linear_")
        return self.linear_.predict(self.splines_.transform(X))
