"""The optional C kernels give the NumPy texture matrices bit for bit, and refuse bad input.

``_ckernels`` is built by ``pip install`` where a C compiler exists; these tests are skipped
elsewhere (the NumPy path, tested in ``test_neighbourhood.py`` against voxel loops, is then used).
"""

from __future__ import annotations

import numpy as np
import pytest

from radsig.features.pyradiomics import _matrices as M
from radsig.features.pyradiomics._neighbourhood import Context, Neighbourhood

pytestmark = pytest.mark.skipif(M._C is None, reason="the C kernels are not compiled here")


def _both(monkeypatch, q, pad, fn, *args, **kw):
    """(C result, NumPy result) of ``fn(Context(q, pad), *args)``, a fresh context each."""
    c = fn(Context(q, pad), *args, **kw)
    with monkeypatch.context() as m:
        m.setattr(M, "_C", None)
        py = fn(Context(q, pad), *args, **kw)
    return c, py


def _volume(rng, shape, levels, fill):
    q = rng.integers(1, levels + 1, size=shape)
    # a blob-like ROI (smoothed noise) so that zones and runs are long, plus scattered holes
    from scipy import ndimage

    roi = ndimage.gaussian_filter(rng.random(shape), 1.5) > 0.5 - 0.1 * fill
    roi &= rng.random(shape) < fill + 0.05
    return np.where(roi, q, 0).astype(np.int64)


@pytest.mark.parametrize("shape, levels, fill", [((30, 34, 28), 3, 0.95), ((20, 25, 22), 12, 0.8),
                                                 ((1, 40, 37), 4, 0.9), ((25, 1, 30), 2, 1.0)])
@pytest.mark.parametrize("distances", [[1], [1, 3]])
def test_c_kernels_equal_numpy_matrices(monkeypatch, shape, levels, fill, distances):
    rng = np.random.default_rng(sum(shape) + levels)
    q = _volume(rng, shape, levels, fill)
    assert q.max() > 0
    ng = int(q.max())
    pad = max(distances)
    dirs = M.angles(q.shape, distances)
    runs = M.angles(q.shape, [1])
    for fn, args in [(M.glcm, (ng, dirs)), (M.glrlm, (ng, runs)), (M.gldm, (ng, dirs, 0)),
                     (M.gldm, (ng, dirs, 2)), (M.ngtdm, (ng, dirs)), (M.ngtdm, (ng, runs)),
                     (M.glszm, (ng,))]:
        c, py = _both(monkeypatch, q, pad, fn, *args)
        assert c.any()
        np.testing.assert_array_equal(c, py, err_msg=fn.__name__)  # bit for bit, sums included
    for dim in (0, 1, 2):
        c, py = _both(monkeypatch, q, pad, M.glszm, ng, True, dim, compact=True)
        np.testing.assert_array_equal(c[0], py[0])
        np.testing.assert_array_equal(c[1], py[1])
        d2 = M.angles(q.shape, [1], True, dim)
        c, py = _both(monkeypatch, q, pad, M.glrlm, ng, d2)
        np.testing.assert_array_equal(c, py)


def test_zone_sizes_add_up_and_match_a_known_layout():
    # two zones of level 1 (sizes 3 and 1, the single voxel touches them only through a level-2
    # voxel) and one of level 2
    q = np.zeros((1, 3, 5), dtype=np.int64)
    q[0, 0, :3] = 1
    q[0, 2, 4] = 1
    q[0, 1, 3] = 2
    counts, sizes = M.glszm(q, 2, compact=True)
    np.testing.assert_array_equal(sizes, [1, 3])
    np.testing.assert_array_equal(counts, [[1, 1], [1, 0]])


def test_kernels_refuse_inconsistent_buffers():
    q = np.zeros((3, 3, 3), dtype=np.int64)
    q[1, 1, 1] = 2
    q[1, 1, 2] = 1
    nb = Neighbourhood(q > 0, 1)
    ctx = Context(q, 1, nb=nb)
    box, idx, steps = M._kernel_args(ctx, M.angles(q.shape, [1]))
    out = np.zeros((2, 2, len(steps)))
    with pytest.raises(ValueError, match="wrong size"):
        M._C.glcm(box, idx, steps, 2, np.zeros(3))
    with pytest.raises(ValueError, match="above ng"):
        M._C.glcm(box, idx, steps, 1, np.zeros((1, 1, len(steps))))
    with pytest.raises(ValueError, match="outside the padded box"):
        M._C.glcm(box, np.array([0], dtype=np.int64), steps, 2, out)
    with pytest.raises(ValueError, match="int32"):
        M._C.glcm(box[:-1].view(np.uint8)[:-1], idx, steps, 2, out)
    frozen = np.zeros((2, 2, len(steps)))
    frozen.flags.writeable = False
    with pytest.raises((TypeError, BufferError)):
        M._C.glcm(box, idx, steps, 2, frozen)
    with pytest.raises(ValueError, match="exceed the padding"):
        M._kernel_args(ctx, M.angles((5, 5, 5), [2]))


def test_extraction_rows_identical_with_and_without_c_kernels(shared, monkeypatch):
    from radsig.config.pyradiomics import load_pyradiomics_settings
    from radsig.features.pyradiomics import extract_rows

    d = shared / "realdata" / "pyradiomics"
    params = load_pyradiomics_settings({
        "setting": {"binWidth": 25, "resampledPixelSpacing": [2, 2, 2],
                    "interpolator": "sitkBSpline", "distances": [1, 2], "gldm_a": 1},
        "imageType": {"Original": {}, "LoG": {"sigma": [2.0]}},
        "featureClass": {"glcm": None, "glrlm": None, "glszm": None, "gldm": None,
                         "ngtdm": None}})
    c = extract_rows(d / "lung2_image.nrrd", d / "lung2_label.nrrd", params)
    monkeypatch.setattr(M, "_C", None)
    py = extract_rows(d / "lung2_image.nrrd", d / "lung2_label.nrrd", params)
    assert len(c) == 150
    assert [r[0] for r in c] == [r[0] for r in py]
    np.testing.assert_array_equal([r[4] for r in c], [r[4] for r in py])


@pytest.mark.parametrize("shape, dtype", [((30, 40, 35), np.int16), ((9, 60, 12), np.float32),
                                          ((25, 5, 19), np.float64), ((6, 6, 6), np.uint8)])
def test_c_bspline_equals_numpy_bit_for_bit(monkeypatch, shape, dtype):
    """Lines shorter and longer than the prefilter's 18-sample horizon, integer casts."""
    from radsig.features.pyradiomics import _preprocess as P

    rng = np.random.default_rng(sum(shape))
    arr = (rng.normal(100, 60, shape)).clip(0, 250).astype(dtype)
    start = np.array([1.3, 1.05, 1.5])
    ratio = np.array([0.8, 0.55, 1.7])
    size = [max(1, int((n - 3.0 - s) / r)) for n, s, r in zip(shape[::-1], start, ratio, strict=True)]
    c = P.bspline_array(arr, start, ratio, size)
    monkeypatch.setattr(P, "_C", None)
    py = P.bspline_array(arr, start, ratio, size)
    assert c.dtype == py.dtype == arr.dtype and c.shape == tuple(size[::-1])
    np.testing.assert_array_equal(c, py)
    assert P.bspline_array(arr, np.array([-1.0, 1, 1]), ratio, size) is None
