"""Empirical-Bayes shrinkage of ComBat batch effects (Johnson, Li & Rabinovic 2007).

Written here because the only maintained ComBat packages are functions that fit and apply in one
call (no separate fit / transform), which is the leakage radsig must avoid.

Notation per batch, over features ``g``: ``gamma_hat[g]`` (batch mean of the standardised data),
``delta_hat[g]`` (its variance, ddof=1), ``n`` samples.

Parametric: gamma ~ N(gamma_bar, t2); delta ~ InvGamma(a, b) with a, b by the method of moments
(a = (2 s2 + m^2) / s2, b = (m s2 + m^3) / s2 for m, s2 the mean and variance of delta_hat).
Posterior means are iterated to convergence:

.. math::
    \\gamma^* = \\frac{n t^2 \\hat\\gamma + \\delta^* \\bar\\gamma}{n t^2 + \\delta^*}, \\qquad
    \\delta^* = \\frac{\\tfrac12 \\sum_j (z_j - \\gamma^*)^2 + b}{n/2 + a - 1}

Non-parametric: for each feature, gamma* and delta* are the averages of the other features'
(gamma_hat, delta_hat) weighted by the normal likelihood of this feature's data under them.
"""

from __future__ import annotations

import numpy as np


def priors(gamma_hat: np.ndarray, delta_hat: np.ndarray) -> dict[str, float]:
    """Hyper-parameters of one batch's priors from its per-feature estimates."""
    m, s2 = float(np.mean(delta_hat)), float(np.var(delta_hat, ddof=1))
    s2 = s2 if s2 > 0 else 1e-12
    return {"gamma_bar": float(np.mean(gamma_hat)), "t2": float(np.var(gamma_hat, ddof=1)),
            "a": (2 * s2 + m**2) / s2, "b": (m * s2 + m**3) / s2}


def parametric(z: np.ndarray, gamma_hat, delta_hat, prior: dict, *, conv: float = 1e-4,
               max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Parametric EB posteriors for one batch; ``z`` is (n_samples_in_batch, n_features)."""
    n = z.shape[0]
    g_bar, t2, a, b = prior["gamma_bar"], prior["t2"], prior["a"], prior["b"]
    g_old, d_old = gamma_hat.copy(), delta_hat.copy()
    for _ in range(max_iter):
        g_new = (t2 * n * gamma_hat + d_old * g_bar) / (t2 * n + d_old)
        sum2 = ((z - g_new) ** 2).sum(axis=0)
        d_new = (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            change = max(np.nanmax(np.abs(g_new - g_old) / np.abs(g_old)),
                         np.nanmax(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
        if change <= conv:
            break
    return g_new, d_new


def mean_only(gamma_hat, prior: dict, n: int) -> np.ndarray:
    """Parametric EB location when scale is not adjusted (delta = 1)."""
    t2 = prior["t2"]
    return (t2 * n * gamma_hat + prior["gamma_bar"]) / (t2 * n + 1.0)


def nonparametric(z: np.ndarray, gamma_hat, delta_hat) -> tuple[np.ndarray, np.ndarray]:
    """Non-parametric EB posteriors for one batch (leave-own-feature-out likelihood weights)."""
    n, p = z.shape
    # sum over samples of (z_i - gamma_j)^2 for every pair (feature i, candidate j)
    sq = (z**2).sum(axis=0)[:, None] - 2 * z.sum(axis=0)[:, None] * gamma_hat[None, :] \
        + n * gamma_hat[None, :] ** 2
    loglik = -0.5 * n * np.log(2 * np.pi * delta_hat)[None, :] - sq / (2 * delta_hat[None, :])
    np.fill_diagonal(loglik, -np.inf)
    w = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    return w @ gamma_hat, w @ delta_hat
