"""3D local binary patterns from spherical harmonics (Banerjee et al. 2013), PyRadiomics-style.

For every ROI voxel the image is sampled (cubic spline) on an icosphere around it; the binary
pattern (neighbour >= centre) is expanded in spherical harmonics up to degree ``lbp3DLevels - 1``
and the rotation-invariant energy per degree gives images ``lbp-3D-m1``, ``lbp-3D-m2`` …; the
kurtosis of the samples gives ``lbp-3D-k``. The harmonics are evaluated with the angle convention
PyRadiomics passes to SciPy (polar angle from ``arctan2(y, x)``, azimuth from ``arccos(z / r)``).
Not checked against PyRadiomics output: PyRadiomics needs ``trimesh`` for its icosphere, which its
reference environment here lacks.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np


def icosphere(subdivisions: int = 1, radius: float = 1.0) -> np.ndarray:
    """Vertices (n, 3) of a subdivided icosahedron projected on a sphere."""
    t = (1 + 5 ** 0.5) / 2
    verts = np.array([[-1, t, 0], [1, t, 0], [-1, -t, 0], [1, -t, 0], [0, -1, t], [0, 1, t],
                      [0, -1, -t], [0, 1, -t], [t, 0, -1], [t, 0, 1], [-t, 0, -1], [-t, 0, 1]],
                     dtype=float)
    verts /= np.linalg.norm(verts, axis=1, keepdims=True)
    for _ in range(int(subdivisions)):
        d = np.linalg.norm(verts[:, None] - verts[None], axis=-1)
        edge = d[d > 1e-9].min()
        i, j = np.nonzero(np.triu(np.abs(d - edge) < 1e-6))
        mids = (verts[i] + verts[j]) / 2
        mids /= np.linalg.norm(mids, axis=1, keepdims=True)
        verts = np.concatenate([verts, mids])
    return verts * radius


def lbp3d(image: np.ndarray, mask: np.ndarray, kw: dict) -> Iterator[tuple[str, np.ndarray]]:
    from scipy.ndimage import map_coordinates
    from scipy.special import sph_harm_y
    from scipy.stats import kurtosis

    levels = int(kw.get("lbp3DLevels", 2))
    radius = float(kw.get("lbp3DIcosphereRadius", 1))
    sphere = icosphere(int(kw.get("lbp3DIcosphereSubdivision", 1)), radius)
    polar_arg = np.abs(np.arctan2(sphere[:, 1], sphere[:, 0]))
    azim_arg = np.arccos(np.clip(sphere[:, 2] / radius, -1, 1))
    harmonics = {n: np.stack([sph_harm_y(n, m, polar_arg, azim_arg) for m in range(-n, n + 1)], 1)
                 for n in range(levels)}
    roi = np.nonzero(mask)
    coords = np.array(roi, dtype=float).T[None, :, :] + sphere[:, None, :]  # (Nv, Np, 3)
    samples = map_coordinates(image.astype(float), coords.T, order=3)  # (Np, Nv)
    kurt = kurtosis(samples, axis=1)
    binary = (samples >= image[roi][:, None]).astype(float)
    out = np.zeros(image.shape)
    for n in range(levels):
        y = harmonics[n]  # (Nv, 2n+1)
        coef = binary @ y  # (Np, 2n+1)
        field = coef @ y.T  # (Np, Nv)
        out[roi] = np.real(np.sqrt((np.abs(field) ** 2).sum(1)))
        yield f"lbp-3D-m{n + 1}", out.copy()
    out[roi] = kurt
    yield "lbp-3D-k", out
