"""Texture features (GLCM, GLRLM, GLSZM, GLDM, NGTDM) with PyRadiomics' formulas and names.

Each ``*_features`` function takes the discretised ROI ``q`` (1..Ng inside, 0 outside) and the
settings, builds the matrix (``_matrices``), trims empty grey levels / sizes as PyRadiomics does,
and returns ``{FeatureName: value}``. Per-angle features are averaged over non-empty angles.
Formulas follow the PyRadiomics documentation (eps = machine epsilon inside logarithms).
"""

from __future__ import annotations

import numpy as np

from radsig.features.pyradiomics import _matrices as M

EPS = np.spacing(1)

__all__ = ["prepare_levels", "glcm_matrix", "glcm_features", "glrlm_matrix", "glrlm_features",
           "glszm_matrix", "glszm_features", "gldm_matrix", "gldm_features", "ngtdm_matrix",
           "ngtdm_features"]


def prepare_levels(q: np.ndarray, ctx=None):
    """(grey levels present, Ng = highest level)."""
    if ctx is not None:
        return ctx.levels()
    present = np.flatnonzero(np.bincount(q.ravel())[1:]) + 1
    return present, int(present[-1])


def _log2(p):
    return np.log2(p + EPS)


def _dirs(q, s, bidir_distances=True):
    d = s.get("distances") or [1]
    return M.angles(q.shape, d if bidir_distances else [1], s.get("force2D", False),
                    s.get("force2Ddimension", 0))


def _weights(dirs, spacing_zyx, norm, glrlm=False):
    sp = np.asarray(spacing_zyx, dtype=float)
    step = np.abs(dirs) * sp[None, :]
    if norm == "infinity":
        w = step.max(1)
    elif norm == "euclidean":
        w = np.sqrt((step ** 2).sum(1))
    elif norm == "manhattan":
        w = step.sum(1)
    else:
        return np.ones(len(dirs))
    return w if glrlm else np.exp(-w ** 2)


# ---------------------------------------------------------------- GLCM
def glcm_matrix(q, s, spacing_zyx, ctx=None):
    """Normalised GLCM (Ng', Ng', n_angles) restricted to present levels, and the levels."""
    levels, ng = prepare_levels(q, ctx)
    dirs = _dirs(q, s)
    p = M.glcm(q if ctx is None else ctx, ng, dirs)[levels - 1][:, levels - 1]
    if s.get("symmetricalGLCM", True):
        p = p + p.transpose(1, 0, 2)
    norm = s.get("weightingNorm")
    if norm is not None:
        p = (p * _weights(dirs, spacing_zyx, norm)[None, None, :]).sum(2, keepdims=True)
    tot = p.sum((0, 1))
    if p.shape[2] > 1:
        p, tot = p[:, :, tot > 0], tot[tot > 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        p = p / np.where(tot == 0, np.nan, tot)[None, None, :]
    return p, levels, ng


def _mean(x) -> float:
    """Mean over angles ignoring NaN angles (``np.nanmean`` without its overhead)."""
    x = np.asarray(x, dtype=float)
    if x.ndim == 0:
        return float(x)
    tot = np.add.reduce(x)
    if tot == tot:  # no NaN: the same sum np.nanmean takes
        return float(tot / x.size)
    ok = ~np.isnan(x)
    return float(np.add.reduce(x[ok]) / ok.sum()) if ok.any() else float("nan")


def glcm_features(q, s, spacing_zyx, names, ctx=None):
    """GLCM features; those that depend on i + j, |i - j| or one index only are computed from
    the sum, difference and marginal distributions (the same sums, regrouped), so only a few
    passes go over the full (Ng, Ng, angles) matrix."""
    p, levels, ng = glcm_matrix(q, s, spacing_zyx, ctx)
    g = levels.astype(float)
    na = p.shape[2]
    px, py = p.sum(1), p.sum(0)  # (Ng, angles)
    ux, uy = (g[:, None] * px).sum(0), (g[:, None] * py).sum(0)
    ksum = np.arange(2, 2 * ng + 1)
    kdiff = np.arange(ng)
    ij_sum = (g[:, None] + g[None, :]).astype(np.int64)
    ij_diff = np.abs(g[:, None] - g[None, :]).astype(np.int64)
    angle = np.arange(na)[None, :]
    pflat = p.reshape(-1, na)
    p_sum = np.bincount(((ij_sum.reshape(-1, 1) - 2) * na + angle).ravel(),
                        weights=pflat.ravel(), minlength=len(ksum) * na).reshape(-1, na)
    p_diff = np.bincount((ij_diff.reshape(-1, 1) * na + angle).ravel(),
                         weights=pflat.ravel(), minlength=ng * na).reshape(-1, na)
    hxy = -(p * _log2(p)).sum((0, 1))
    pm = _mean
    out = {}
    dev = (ksum[:, None] - ux) - uy  # (i + j) - ux - uy for each sum i + j
    sigx = np.sqrt((px * (g[:, None] - ux) ** 2).sum(0))
    sigy = np.sqrt((py * (g[:, None] - uy) ** 2).sum(0))
    pj = None

    lpxy = None

    def log_pxy():  # log2(px_i py_j + eps), shared by Imc1 and Imc2
        nonlocal lpxy
        if lpxy is None:
            lpxy = _log2(px[:, None, :] * py[None, :, :])
        return lpxy

    def row_j():  # sum_j p_ij * j, shared by Autocorrelation and Correlation
        nonlocal pj
        if pj is None:
            pj = (p * g[None, :, None]).sum(1)
        return pj

    f = {
        "Autocorrelation": lambda: pm((g[:, None] * row_j()).sum(0)),
        "JointAverage": lambda: pm(ux),
        "ClusterProminence": lambda: pm((p_sum * dev ** 4).sum(0)),
        "ClusterShade": lambda: pm((p_sum * dev ** 3).sum(0)),
        "ClusterTendency": lambda: pm((p_sum * dev ** 2).sum(0)),
        "Contrast": lambda: pm((p_diff * kdiff[:, None] ** 2).sum(0)),
        "Correlation": lambda: _correlation(px, row_j(), g, ux, uy, sigx, sigy),
        "DifferenceAverage": lambda: pm((kdiff[:, None] * p_diff).sum(0)),
        "DifferenceEntropy": lambda: pm(-(p_diff * _log2(p_diff)).sum(0)),
        "DifferenceVariance": lambda: pm((p_diff * (kdiff[:, None] - (kdiff[:, None] * p_diff)
                                                    .sum(0)) ** 2).sum(0)),
        "JointEnergy": lambda: pm((p ** 2).sum((0, 1))),
        "JointEntropy": lambda: pm(hxy),
        "Imc1": lambda: _imc1(p, px[:, None, :], py[None, :, :], hxy, log_pxy()),
        "Imc2": lambda: _imc2(px[:, None, :] * py[None, :, :], hxy, log_pxy()),
        "Idm": lambda: pm((p_diff / (1 + kdiff[:, None] ** 2)).sum(0)),
        "MCC": lambda: _mcc(p, px[:, None, :], py[None, :, :]),
        "Idmn": lambda: pm((p_diff / (1 + kdiff[:, None] ** 2 / ng ** 2)).sum(0)),
        "Id": lambda: pm((p_diff / (1 + kdiff[:, None])).sum(0)),
        "Idn": lambda: pm((p_diff / (1 + kdiff[:, None] / ng)).sum(0)),
        "InverseVariance": lambda: pm((p_diff[1:] / kdiff[1:, None] ** 2).sum(0)),
        "MaximumProbability": lambda: pm(p.max((0, 1))),
        "SumAverage": lambda: pm((ksum[:, None] * p_sum).sum(0)),
        "SumEntropy": lambda: pm(-(p_sum * _log2(p_sum)).sum(0)),
        "SumSquares": lambda: pm((px * (g[:, None] - ux) ** 2).sum(0)),
    }
    for name in names:
        out[name] = f[name]()
    return out


def _correlation(px, pj, g, ux, uy, sigx, sigy):
    """sum_ij p_ij (i - ux)(j - uy) = sum_i (i - ux) (sum_j p_ij j - uy px_i), over sigx sigy."""
    cov = ((g[:, None] - ux) * (pj - uy * px)).sum(0)
    corr = cov / (sigx * sigy + EPS)
    corr = np.where(sigx * sigy == 0, 1.0, corr)
    return _mean(corr)


def _imc1(p, px, py, hxy, log_pxy):
    hx = -(px * _log2(px)).sum((0, 1))
    hy = -(py * _log2(py)).sum((0, 1))
    hxy1 = -(p * log_pxy).sum((0, 1))
    div = np.fmax(hx, hy)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.where(div != 0, (hxy - hxy1) / np.where(div == 0, 1, div), 0.0)
    return _mean(val)


def _imc2(pxy, hxy, log_pxy):
    hxy2 = -(pxy * log_pxy).sum((0, 1))
    with np.errstate(invalid="ignore"):
        val = np.sqrt(1 - np.exp(-2 * (hxy2 - hxy)))
    val = np.where(hxy2 == hxy, 0.0, val)
    return _mean(val)


def _mcc(p, px, py):
    """Maximal correlation coefficient: sqrt of the 2nd largest eigenvalue of Q.

    Q_ij = sum_k p_ik p_jk / (px_i py_k) equals D^-1/2 (A A^T) D^1/2 with
    A = diag(px)^-1/2 p diag(py)^-1/2, so its eigenvalues are the squared singular values of A
    (for a symmetric GLCM, the squared eigenvalues of the symmetric A). PyRadiomics adds
    machine epsilon to px·py, a relative change below 1e-6 that is left out here.
    """
    if p.shape[0] < 2:
        return 1.0
    ok = ~np.isnan(p).any((0, 1))
    if not ok.any():
        return float("nan")
    pa = np.moveaxis(p[:, :, ok], 2, 0)  # (angles, Ng, Ng)
    sx = np.sqrt(px[:, 0, :][:, ok].T)[:, :, None]  # (angles, Ng, 1)
    sy = np.sqrt(py[0, :, :][:, ok].T)[:, None, :]  # (angles, 1, Ng)
    den = sx * sy
    a = np.divide(pa, den, out=np.zeros_like(pa), where=den > 0)  # empty rows/cols stay 0
    if np.allclose(pa, np.swapaxes(pa, 1, 2)):
        ev = np.sort(np.linalg.eigvalsh(a) ** 2, axis=1)
    else:
        ev = np.sort(np.linalg.svd(a, compute_uv=False) ** 2, axis=1)
    return float(np.mean(np.sqrt(ev[:, -2])))


# ---------------------------------------------------------------- GLRLM
def glrlm_matrix(q, s, spacing_zyx, ctx=None):
    levels, ng = prepare_levels(q, ctx)
    dirs = _dirs(q, s, bidir_distances=False)
    p = M.glrlm(q if ctx is None else ctx, ng, dirs)[levels - 1]
    norm = s.get("weightingNorm")
    if norm is not None:
        p = (p * _weights(dirs, spacing_zyx, norm, glrlm=True)[None, None, :]).sum(2, keepdims=True)
    nr = p.sum((0, 1))
    if p.shape[2] > 1:
        p, nr = p[:, :, nr > 0], nr[nr > 0]
    keep = p.sum((0, 2)) > 0
    return p[:, keep], levels, np.flatnonzero(keep) + 1.0, nr


def _zone_like(p, ivec, jvec, n, np_total, names, prefix):
    """Shared formulas of run / zone / dependence matrices (p: (Ng, Nj) or with angle axis)."""
    pr = p.sum(0)
    pg = p.sum(1)
    i2, j2 = ivec[:, None] ** 2, jvec[None, :] ** 2
    if p.ndim == 3:
        i2, j2 = i2[..., None], j2[..., None]
        iv, jv = ivec[:, None], jvec[:, None]
    else:
        iv, jv = ivec, jvec
    with np.errstate(invalid="ignore", divide="ignore"):
        pgn, prn = pg / n, pr / n
        ui = (pgn * iv).sum(0)
        uj = (prn * jv).sum(0)
        pn = p / n
        vals = {
            "SE": (pr / jv ** 2).sum(0) / n, "LE": (pr * jv ** 2).sum(0) / n,
            "GLN": (pg ** 2).sum(0) / n, "GLNN": (pg ** 2).sum(0) / n ** 2,
            "SN": (pr ** 2).sum(0) / n, "SNN": (pr ** 2).sum(0) / n ** 2,
            "P": n / np_total if np_total is not None else None,
            "GLV": (pgn * (iv - ui) ** 2).sum(0), "SV": (prn * (jv - uj) ** 2).sum(0),
            "ENT": -(pn * _log2(pn)).sum((0, 1)),
            "LGLE": (pg / iv ** 2).sum(0) / n, "HGLE": (pg * iv ** 2).sum(0) / n,
            "SLGLE": (p / (i2 * j2)).sum((0, 1)) / n, "SHGLE": (p * i2 / j2).sum((0, 1)) / n,
            "LLGLE": (p * j2 / i2).sum((0, 1)) / n, "LHGLE": (p * i2 * j2).sum((0, 1)) / n,
        }
    return {name: _mean(vals[key]) for name, key in names.items()}


_GLRLM_NAMES = {
    "ShortRunEmphasis": "SE", "LongRunEmphasis": "LE", "GrayLevelNonUniformity": "GLN",
    "GrayLevelNonUniformityNormalized": "GLNN", "RunLengthNonUniformity": "SN",
    "RunLengthNonUniformityNormalized": "SNN", "RunPercentage": "P", "GrayLevelVariance": "GLV",
    "RunVariance": "SV", "RunEntropy": "ENT", "LowGrayLevelRunEmphasis": "LGLE",
    "HighGrayLevelRunEmphasis": "HGLE", "ShortRunLowGrayLevelEmphasis": "SLGLE",
    "ShortRunHighGrayLevelEmphasis": "SHGLE", "LongRunLowGrayLevelEmphasis": "LLGLE",
    "LongRunHighGrayLevelEmphasis": "LHGLE"}


def glrlm_features(q, s, spacing_zyx, names, ctx=None):
    p, levels, jvec, nr = glrlm_matrix(q, s, spacing_zyx, ctx)
    np_total = (p.sum(0) * jvec[:, None]).sum(0)
    want = {n: _GLRLM_NAMES[n] for n in names}
    return _zone_like(p, levels.astype(float), jvec, nr, np_total, want, "run")


# ---------------------------------------------------------------- GLSZM
_GLSZM_NAMES = {
    "SmallAreaEmphasis": "SE", "LargeAreaEmphasis": "LE", "GrayLevelNonUniformity": "GLN",
    "GrayLevelNonUniformityNormalized": "GLNN", "SizeZoneNonUniformity": "SN",
    "SizeZoneNonUniformityNormalized": "SNN", "ZonePercentage": "P", "GrayLevelVariance": "GLV",
    "ZoneVariance": "SV", "ZoneEntropy": "ENT", "LowGrayLevelZoneEmphasis": "LGLE",
    "HighGrayLevelZoneEmphasis": "HGLE", "SmallAreaLowGrayLevelEmphasis": "SLGLE",
    "SmallAreaHighGrayLevelEmphasis": "SHGLE", "LargeAreaLowGrayLevelEmphasis": "LLGLE",
    "LargeAreaHighGrayLevelEmphasis": "LHGLE"}


def glszm_matrix(q, s, ctx=None):
    levels, ng = prepare_levels(q, ctx)
    p, sizes = M.glszm(q if ctx is None else ctx, ng, s.get("force2D", False),
                       s.get("force2Ddimension", 0), compact=True)
    return p[levels - 1], levels, sizes


def glszm_features(q, s, spacing_zyx, names, ctx=None):
    p, levels, jvec = glszm_matrix(q, s, ctx)
    nz = max(p.sum(), 1)
    np_total = max((p.sum(0) * jvec).sum(), 1)
    want = {n: _GLSZM_NAMES[n] for n in names}
    return _zone_like(p, levels.astype(float), jvec, nz, np_total, want, "zone")


# ---------------------------------------------------------------- GLDM
_GLDM_NAMES = {
    "SmallDependenceEmphasis": "SE", "LargeDependenceEmphasis": "LE",
    "GrayLevelNonUniformity": "GLN", "DependenceNonUniformity": "SN",
    "DependenceNonUniformityNormalized": "SNN", "GrayLevelVariance": "GLV",
    "DependenceVariance": "SV", "DependenceEntropy": "ENT", "LowGrayLevelEmphasis": "LGLE",
    "HighGrayLevelEmphasis": "HGLE", "SmallDependenceLowGrayLevelEmphasis": "SLGLE",
    "SmallDependenceHighGrayLevelEmphasis": "SHGLE",
    "LargeDependenceLowGrayLevelEmphasis": "LLGLE",
    "LargeDependenceHighGrayLevelEmphasis": "LHGLE"}


def gldm_matrix(q, s, ctx=None):
    levels, ng = prepare_levels(q, ctx)
    dirs = _dirs(q, s)
    p = M.gldm(q if ctx is None else ctx, ng, dirs, int(s.get("gldm_a", 0)))[levels - 1]
    keep = p.sum(0) > 0
    return p[:, keep], levels, np.flatnonzero(keep) + 1.0


def gldm_features(q, s, spacing_zyx, names, ctx=None):
    p, levels, jvec = gldm_matrix(q, s, ctx)
    nz = max(p.sum(), 1)
    want = {n: _GLDM_NAMES[n] for n in names}
    return _zone_like(p, levels.astype(float), jvec, nz, None, want, "dep")


# ---------------------------------------------------------------- NGTDM
def ngtdm_matrix(q, s, ctx=None):
    levels, ng = prepare_levels(q, ctx)
    p = M.ngtdm(q if ctx is None else ctx, ng, _dirs(q, s))
    return p[p[:, 0] > 0]


def ngtdm_features(q, s, spacing_zyx, names, ctx=None):
    p = ngtdm_matrix(q, s, ctx)
    n_vp = p[:, 0].sum()
    pi, si, iv = p[:, 0] / n_vp, p[:, 1], p[:, 2]
    ngp = int((p[:, 0] > 0).sum())
    pisi = (pi * si).sum()
    dij = iv[:, None] - iv[None, :]
    out = {}
    for name in names:
        if name == "Coarseness":
            out[name] = 1.0 / pisi if pisi != 0 else 1e6
        elif name == "Contrast":
            div = ngp * (ngp - 1)
            val = (pi[:, None] * pi[None, :] * dij ** 2).sum() * si.sum() / n_vp
            out[name] = float(val / div) if div != 0 else 0.0
        elif name == "Busyness":
            absdiff = np.abs((iv * pi)[:, None] - (iv * pi)[None, :]).sum()
            out[name] = float(pisi / absdiff) if absdiff != 0 else 0.0
        elif name == "Complexity":
            num = (pi * si)[:, None] + (pi * si)[None, :]
            den = pi[:, None] + pi[None, :]
            out[name] = float((np.abs(dij) * num / den).sum() / n_vp)
        elif name == "Strength":
            val = ((pi[:, None] + pi[None, :]) * dij ** 2).sum()
            out[name] = float(val / si.sum()) if si.sum() != 0 else 0.0
    return out
