"""PyRadiomics mode's SimpleITK-free path for NIfTI files gives the SimpleITK path's rows exactly.

Both paths run on the same files (the SimpleITK one forced by ``RADSIG_NO_FASTPATH``); grids with
nearest-neighbour ties (2.5 mm slices to 1 mm), flipped axes, several labels, integer and float
images, with and without resampling. The nearest-neighbour mask resampling is also compared with
SimpleITK's ResampleImageFilter directly on random grids.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.config.pyradiomics import load_pyradiomics_settings
from radsig.features.pyradiomics import _fastpath as F
from radsig.features.pyradiomics import extract_rows
from radsig.features.pyradiomics._extract import features_from_arrays
from radsig.io import nifti as N

CLASSES = {c: None for c in ["shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"]}


def _case(tmp_path, spacing, direction=(1, 1, 1), dtype=np.int16, shape=(36, 70, 66), seed=0,
          ext=".nii"):
    rng = np.random.default_rng(seed)
    nz, ny, nx = shape
    z, y, x = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    sx, sy, sz = spacing
    r = np.sqrt(((x - nx / 2) * sx) ** 2 + ((y - ny / 2) * sy) ** 2 + ((z - nz / 2) * sz) ** 2)
    img = 40 + 60 * np.cos(x * 0.4) * np.sin(y * 0.3) + rng.normal(0, 25, shape)
    img[r > 22] = -800 + rng.normal(0, 20, (r > 22).sum())
    lab = np.zeros(shape, np.uint8)
    lab[r <= 12 + 2 * np.sin(3 * np.arctan2(y - ny / 2, x - nx / 2))] = 2
    lab[(r > 12) & (r <= 16) & (z > nz / 2)] = 1
    paths = []
    for name, arr in (("image" + ext, img.astype(dtype)), ("mask.nii.gz", lab)):
        im = sitk.GetImageFromArray(arr)
        im.SetSpacing([float(v) for v in spacing])
        im.SetOrigin([-101.3, 57.25, -330.0])
        im.SetDirection([float(v) for v in np.diag(direction).ravel()])
        sitk.WriteImage(im, str(tmp_path / name))
        paths.append(tmp_path / name)
    return paths


def _fast_rows(image, mask, settings):
    """Rows through the NIfTI fast path, or None where it declines."""
    arrays = F.nifti_arrays(image, mask, settings)
    return None if arrays is None else features_from_arrays(*arrays, settings)


def _both(monkeypatch, image, mask, params):
    settings = load_pyradiomics_settings(params)
    fast = _fast_rows(image, mask, settings)
    with monkeypatch.context() as m:
        m.setenv("RADSIG_NO_FASTPATH", "1")
        slow = extract_rows(image, mask, settings)
    return fast, slow


def _assert_same(fast, slow):
    assert fast is not None, "the fast path declined"
    assert [r[0] for r in fast] == [r[0] for r in slow]
    np.testing.assert_array_equal([r[4] for r in fast], [r[4] for r in slow])


@pytest.mark.parametrize("spacing, new, direction, label, dtype", [
    ((0.8, 0.8, 2.5), [1, 1, 1], (1, 1, 1), 2, np.int16),
    ((0.7, 0.7, 3.0), [1, 1, 1], (-1, 1, -1), 1, np.int16),
    ((0.9765625, 0.9765625, 5.0), [2, 2, 0], (1, -1, 1), 2, np.float32),
    ((1.5, 1.25, 2.0), [1.1, 0.9, 1.3], (-1, -1, 1), 2, np.int32),
])
def test_resampled_cases_equal_the_simpleitk_path(tmp_path, monkeypatch, spacing, new,
                                                  direction, label, dtype):
    image, mask = _case(tmp_path, spacing, direction, dtype, seed=label)
    params = {"setting": {"resampledPixelSpacing": new, "interpolator": "sitkBSpline",
                          "binWidth": 25, "label": label},
              "imageType": {"Original": {}}, "featureClass": CLASSES}
    _assert_same(*_both(monkeypatch, image, mask, params))


@pytest.mark.slow
def test_filters_on_the_resampled_grid_equal_the_simpleitk_path(tmp_path, monkeypatch):
    image, mask = _case(tmp_path, (0.8, 0.8, 2.5), ext=".nii.gz")
    params = {"setting": {"resampledPixelSpacing": [1, 1, 1], "interpolator": "sitkBSpline",
                          "binWidth": 10, "label": 2, "padDistance": 3},
              "imageType": {"Original": {}, "LoG": {"sigma": [1.0, 3.0]}, "Wavelet": {}},
              "featureClass": {"firstorder": None, "glcm": None, "glszm": None}}
    _assert_same(*_both(monkeypatch, image, mask, params))


@pytest.mark.parametrize("setting", [{"binWidth": 25}, {"binCount": 16, "padDistance": 2},
                                     {"binWidth": 20, "preCrop": True, "padDistance": 1}])
def test_cases_without_resampling_equal_the_simpleitk_path(tmp_path, monkeypatch, setting):
    image, mask = _case(tmp_path, (0.8, 0.8, 2.5), (1, -1, 1))
    params = {"setting": dict(setting, label=2),
              "imageType": {"Original": {}, "LoG": {"sigma": [2.0]}}, "featureClass": CLASSES}
    _assert_same(*_both(monkeypatch, image, mask, params))


def test_declined_cases_go_to_simpleitk(tmp_path, shared):
    image, mask = _case(tmp_path, (0.8, 0.8, 2.5))

    def fast(img, msk, **setting):
        params = {"setting": dict({"binWidth": 25, "label": 2}, **setting),
                  "imageType": {"Original": {}}, "featureClass": {"firstorder": None}}
        return _fast_rows(img, msk, load_pyradiomics_settings(params))

    assert fast(image, mask) is not None
    assert fast(image, mask, normalize=True) is None
    assert fast(image, mask, resampledPixelSpacing=[1, 1, 1], interpolator="sitkLinear") is None
    assert fast(image, mask, label=7) is None  # the SimpleITK path names the labels present
    assert fast(str(image), sitk.ReadImage(str(mask))) is None
    d = shared / "realdata" / "pyradiomics"
    assert fast(d / "brain1_image.nrrd", d / "brain1_label.nrrd") is None
    other = tmp_path / "other"
    other.mkdir()
    moved, _ = _case(other, (0.8, 0.8, 2.0))  # another grid: no crop without resampling
    assert fast(moved, mask) is None


def test_nearest_neighbour_mask_equals_simpleitk_resample():
    rng = np.random.default_rng(7)
    for trial in range(40):
        shape_xyz = rng.integers(12, 40, 3)
        sp = rng.choice([0.5, 0.7, 0.75, 0.8, 0.9765625, 1.0, 1.25, 2.0, 2.5, 3.0, 5.0], 3)
        arr = (rng.random(shape_xyz[::-1]) < 0.5).astype(np.uint8)
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing([float(v) for v in sp])
        img.SetOrigin([float(v) for v in rng.normal(0, 100, 3).astype(np.float32)])
        direction = np.diag(rng.choice([-1.0, 1.0], 3))
        img.SetDirection([float(v) for v in direction.ravel()])
        new_sp = rng.choice([1.0, 0.5, 2.0, 1.5, 0.8], 3)
        ratio = sp / new_sp
        origin_index = 0.5 * (new_sp - sp) / sp + np.floor(rng.uniform(0, 5, 3)) / ratio
        origin = img.TransformContinuousIndexToPhysicalPoint([float(v) for v in origin_index])
        size = [int(v) for v in np.floor(shape_xyz * ratio * 0.9)]
        rif = sitk.ResampleImageFilter()
        rif.SetOutputSpacing([float(v) for v in new_sp])
        rif.SetOutputDirection(img.GetDirection())
        rif.SetSize(size)
        rif.SetOutputOrigin(origin)
        rif.SetInterpolator(sitk.sitkNearestNeighbor)
        want = sitk.GetArrayFromImage(rif.Execute(img))
        vol = N.NiftiVolume(Path("x.nii"), tuple(arr.shape), arr.dtype, 352, False,
                            np.array(img.GetOrigin()), sp.astype(float), direction)
        z0 = int(rng.integers(0, 3))  # the label planes start anywhere; outside them: 0
        planes = arr[z0:].copy()
        got = F._nearest(planes, z0, vol, size, np.array(origin), direction * new_sp[None, :])
        ref = want if z0 == 0 else _zero_below(want, img, rif, z0)
        np.testing.assert_array_equal(got, ref, err_msg=f"trial {trial}")


def _zero_below(want, img, rif, z0):
    """SimpleITK's result for a label map whose planes below z0 are zero."""
    arr = sitk.GetArrayFromImage(img)
    arr[:z0] = 0
    cut = sitk.GetImageFromArray(arr)
    cut.CopyInformation(img)
    return sitk.GetArrayFromImage(rif.Execute(cut))


def test_an_extraction_from_nifti_files_does_not_import_simpleitk(tmp_path):
    image, mask = _case(tmp_path, (0.8, 0.8, 2.5))
    code = ("import sys\n"
            "from radsig.config.pyradiomics import load_pyradiomics_settings as L\n"
            "from radsig.features.pyradiomics import extract_rows\n"
            f"rows = extract_rows({str(image)!r}, {str(mask)!r}, L({{'setting': {{'label': 2, "
            "'resampledPixelSpacing': [1, 1, 1], 'interpolator': 'sitkBSpline'}, "
            "'imageType': {'Original': {}, 'Wavelet': {}}, "
            "'featureClass': {'shape': None, 'glcm': None}}))\n"
            "assert len(rows) > 30, rows\n"
            "print(sorted(m for m in sys.modules if m.startswith('SimpleITK')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(Path(__file__).parents[2] / "src"),
                              "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("case", ["brain1", "breast1", "lung2"])
def test_pyradiomics_test_cases_as_nifti_give_the_simpleitk_rows(tmp_path, monkeypatch, shared,
                                                                 case):
    """PyRadiomics' own test cases (real MR/CT geometries) written as NIfTI: the fast path gives
    the SimpleITK path's rows, with and without resampling (or declines)."""
    d = shared / "realdata" / "pyradiomics"
    paths = []
    for part in ("image", "label"):
        out = tmp_path / f"{case}_{part}.nii.gz"
        sitk.WriteImage(sitk.ReadImage(str(d / f"{case}_{part}.nrrd")), str(out))
        paths.append(out)
    used = 0
    for setting in ({"binWidth": 25}, {"binWidth": 25, "resampledPixelSpacing": [2, 2, 2],
                                       "interpolator": "sitkBSpline"}):
        params = {"setting": setting, "imageType": {"Original": {}, "LoG": {"sigma": [2.0]}},
                  "featureClass": CLASSES}
        fast, slow = _both(monkeypatch, *paths, params)
        if fast is not None:
            used += 1
            _assert_same(fast, slow)
    assert used >= 1


def test_image_on_another_grid_than_the_mask_equals_the_simpleitk_path(tmp_path, monkeypatch):
    """A PET-like image with its own spacing and origin, the mask on the CT grid, resampled."""
    image, mask = _case(tmp_path, (0.8, 0.8, 2.5))
    ct = sitk.ReadImage(str(image))
    ref = sitk.Image([52, 56, 36], sitk.sitkFloat32)
    ref.SetSpacing([1.6, 1.5, 3.3])
    ref.SetOrigin([-110.7, 47.3, -345.1])
    pet = sitk.Resample(sitk.Cast(ct, sitk.sitkFloat32), ref, sitk.Transform(), sitk.sitkLinear,
                        -1000.0)
    pet_path = tmp_path / "pet.nii"
    sitk.WriteImage(pet, str(pet_path))
    params = {"setting": {"resampledPixelSpacing": [2, 2, 2], "interpolator": "sitkBSpline",
                          "binWidth": 20, "label": 2},
              "imageType": {"Original": {}}, "featureClass": CLASSES}
    _assert_same(*_both(monkeypatch, pet_path, mask, params))


def test_shape_computed_before_the_image_read_gives_the_same_rows(tmp_path, monkeypatch):
    """The fast path hands the resampled ROI over before it reads the image; the shape rows
    computed from it then are the rows computed after the image (and the SimpleITK path's);
    with ``resegmentRange`` (the shape box then comes from the resegmented ROI) they wait."""
    image, mask = _case(tmp_path, (0.8, 0.8, 2.5), ext=".nii.gz")
    base = {"setting": {"resampledPixelSpacing": [1, 1, 1], "label": 2, "binWidth": 25},
            "featureClass": CLASSES}
    events = []
    real_read = F.read_region
    monkeypatch.setattr(F, "read_region", lambda *a: (events.append("image"), real_read(*a))[1])
    from radsig.features.pyradiomics import _extract as E

    real_first = E._shape_first
    monkeypatch.setattr(E, "_shape_first",
                        lambda *a: (events.append("shape"), real_first(*a))[1])
    for setting, early in (({}, True), ({"resegmentRange": [-500, 400]}, False)):
        params = {**base, "setting": {**base["setting"], **setting}}
        settings = load_pyradiomics_settings(params)
        events.clear()
        early_rows = extract_rows(image, mask, settings)
        assert events[:2] == ["shape", "image"]
        late = _fast_rows(image, mask, settings)
        _assert_same(early_rows, late)
        assert (real_first(*F.nifti_arrays(image, mask, settings)[1:], settings, None)
                is not None) is early
        with monkeypatch.context() as m:
            m.setenv("RADSIG_NO_FASTPATH", "1")
            _assert_same(early_rows, extract_rows(image, mask, settings))
