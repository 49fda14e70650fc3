"""Ensembles over logistic regression, SVM, random forest and gradient boosting.

Built from scikit-learn's ``VotingClassifier`` (soft voting) and ``StackingClassifier``; the SVM
gets probabilities from ``CalibratedClassifierCV(SVC(), ensemble=False)`` (Platt scaling; the
``SVC(probability=True)`` route is deprecated in scikit-learn 1.9). Every member, trees
included, can be written to a JSON model file by :func:`radsig.models.save_model`.
"""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from radsig.exceptions import ConfigError

_MEMBERS = ("logistic", "svm", "rf", "gb")


def ensemble_members(*, members=_MEMBERS, n_estimators: int = 200, random_state=None,
                     C: float = 1.0) -> list[tuple[str, object]]:
    """Named, unfitted base learners (scaled where the learner needs it)."""
    build = {
        "logistic": lambda: Pipeline([("scale", StandardScaler()),
                                      ("clf", LogisticRegression(C=C, max_iter=2000))]),
        "svm": lambda: Pipeline([("scale", StandardScaler()), ("clf", CalibratedClassifierCV(
            SVC(C=C, kernel="rbf", random_state=random_state), ensemble=False, cv=3))]),
        "rf": lambda: RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=2,
                                             random_state=random_state),
        "gb": lambda: GradientBoostingClassifier(n_estimators=n_estimators, max_depth=2,
                                                 learning_rate=0.05, subsample=0.8,
                                                 random_state=random_state),
    }
    unknown = set(members) - set(build)
    if unknown:
        raise ConfigError(f"unknown ensemble member(s) {sorted(unknown)}; allowed: {list(build)}")
    return [(name, build[name]()) for name in members]


def make_ensemble(kind: str = "soft_voting", *, members=_MEMBERS, n_estimators: int = 200,
                  random_state=None, cv: int = 5):
    """A soft-voting or stacking ensemble over logistic, SVM, random forest and gradient boosting.

    Parameters
    ----------
    kind : {"soft_voting", "stacking"}
        Stacking uses a logistic regression meta-learner on out-of-fold probabilities
        (``cv`` inner folds, so the meta-learner never sees in-sample predictions).
    members : sequence of {"logistic", "svm", "rf", "gb"}
    n_estimators : int
        Trees per forest / boosting rounds.
    random_state : int or None
    cv : int
        Inner folds of the stacking meta-features.

    Returns
    -------
    VotingClassifier or StackingClassifier
        Unfitted; put it after a selector in a Pipeline so selection happens inside the folds.
    """
    estimators = ensemble_members(members=members, n_estimators=n_estimators,
                                  random_state=random_state)
    if kind == "soft_voting":
        return VotingClassifier(estimators, voting="soft")
    if kind == "stacking":
        return StackingClassifier(estimators, final_estimator=LogisticRegression(max_iter=2000),
                                  stack_method="predict_proba", cv=cv)
    raise ConfigError(f"ensemble kind must be 'soft_voting' or 'stacking', got {kind!r}")
