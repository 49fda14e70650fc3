"""Habitats: voxels clustered into subregions per tumour, then across the training cohort.

Two stages, as habitat studies do it: (1) each tumour's voxels are over-segmented by k-means
into ``n_supervoxels`` local clusters, (2) the cluster centroids of all *training* tumours are
clustered into ``k`` habitats (k-means or a Gaussian mixture, ``k`` chosen by silhouette or BIC
over ``k_range``). New tumours go through stage 1 and their clusters take the nearest training
habitat, so nothing is refitted outside training. Habitats are ordered by mean first feature.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from radsig.exceptions import ConfigError


def _supervoxels(X: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels per voxel, centroids, sizes) of a k-means over-segmentation of one tumour."""
    n = min(n, len(X))
    rng = np.random.default_rng(seed)
    sample = X if len(X) <= 4000 else X[rng.choice(len(X), 4000, replace=False)]
    # one thread: these problems are small, and cases already run in parallel processes
    with threadpool_limits(limits=1):
        km = KMeans(n_clusters=n, n_init=2, random_state=seed).fit(sample)
        labels = km.predict(X)
    sizes = np.bincount(labels, minlength=n)
    return labels, km.cluster_centers_, sizes


class HabitatClusterer(BaseEstimator):
    """Fit habitats on training tumours; label the voxels of any tumour.

    Parameters
    ----------
    k_range : sequence of int
        Candidate numbers of habitats.
    method : {"kmeans", "gmm"}
        Population-level clustering; ``k`` chosen by silhouette (k-means) or BIC (GMM).
    n_supervoxels : int
        Stage-1 clusters per tumour.
    random_state : int
    """

    def __init__(self, *, k_range: Sequence[int] = (2, 3, 4, 5), method: str = "kmeans",
                 n_supervoxels: int = 12, random_state: int = 0):
        self.k_range = k_range
        self.method = method
        self.n_supervoxels = n_supervoxels
        self.random_state = random_state

    def fit(self, tumours: Sequence[np.ndarray], y=None):
        """*tumours*: one (n_voxels, n_features) matrix per training tumour."""
        if self.method not in {"kmeans", "gmm"}:
            raise ConfigError(f"method must be 'kmeans' or 'gmm', got {self.method!r}")
        allv = np.vstack(tumours)
        self.mean_ = allv.mean(0)
        self.scale_ = allv.std(0)
        self.scale_[self.scale_ == 0] = 1.0
        C = np.vstack([_supervoxels((X - self.mean_) / self.scale_, self.n_supervoxels,
                                    self.random_state + i)[1] for i, X in enumerate(tumours)])
        self.criterion_ = {}
        with threadpool_limits(limits=1):
            best = self._select_k(C)
        if best is None:
            raise ConfigError("too few training voxels/clusters for the requested k_range")
        _, self.k_, centers = best
        order = np.argsort(centers[:, 0])
        self.centers_ = centers[order]
        return self

    def _select_k(self, C: np.ndarray):
        best = None
        for k in self.k_range:
            if k >= len(C):
                continue
            if self.method == "kmeans":
                model = KMeans(n_clusters=k, n_init=10, random_state=self.random_state).fit(C)
                score = silhouette_score(C, model.labels_)  # higher is better
                centers = model.cluster_centers_
            else:
                model = GaussianMixture(n_components=k, random_state=self.random_state).fit(C)
                score = -model.bic(C)
                centers = model.means_
            self.criterion_[int(k)] = float(score)
            if best is None or score > best[0]:
                best = (score, k, centers)
        return best

    def predict(self, X: np.ndarray, *, seed: int = 0) -> np.ndarray:
        """Habitat (0..k-1) of every voxel of one tumour."""
        check_is_fitted(self, "centers_")
        Z = (X - self.mean_) / self.scale_
        labels, cents, _ = _supervoxels(Z, self.n_supervoxels, self.random_state + seed)
        d = ((cents[:, None, :] - self.centers_[None, :, :]) ** 2).sum(-1)
        return d.argmin(1)[labels]

    def to_dict(self) -> dict:
        """JSON-serialisable state (for model files; never pickle)."""
        check_is_fitted(self, "centers_")
        return {"params": self.get_params(), "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "centers": self.centers_.tolist(), "k": int(self.k_), "criterion": self.criterion_}

    @classmethod
    def from_dict(cls, data: dict) -> HabitatClusterer:
        params = dict(data["params"])
        params["k_range"] = tuple(params["k_range"])
        obj = cls(**params)
        obj.mean_, obj.scale_ = np.asarray(data["mean"]), np.asarray(data["scale"])
        obj.centers_, obj.k_ = np.asarray(data["centers"]), int(data["k"])
        obj.criterion_ = {int(k): v for k, v in data["criterion"].items()}
        return obj
