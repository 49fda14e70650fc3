"""IBSI mode's NIfTI input without SimpleITK gives the rows of the SimpleITK reader, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.config import load_settings
from radsig.features import _nifti_input
from radsig.features.extractor import extract_case_rows


def _rows(image, mask, params, monkeypatch, *, fast: bool, label=None):
    if fast:
        monkeypatch.delenv("RADSIG_NO_FASTPATH", raising=False)
    else:
        monkeypatch.setenv("RADSIG_NO_FASTPATH", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows, attrs = extract_case_rows(image, mask, params, label=label)
    return rows, attrs


def _same(a, b):
    assert [r[:4] for r in a] == [r[:4] for r in b]
    va, vb = np.array([r[4] for r in a]), np.array([r[4] for r in b])
    assert np.array_equal(va, vb, equal_nan=True)


@pytest.mark.parametrize("config", ["config_c.yaml"])
def test_ct_phantom_rows_equal_simpleitk_reader(shared, config, monkeypatch):
    folder = shared / "ibsi" / "ct_phantom_pat1"
    params = shared.parent.parent / "params" / "ibsi" / config
    image, mask = folder / "image.nii.gz", folder / "mask.nii.gz"
    settings = load_settings(params)
    assert _nifti_input.nifti_arrays(image, mask, settings, None) is not None
    fast, attrs = _rows(image, mask, settings, monkeypatch, fast=True)
    slow, attrs_slow = _rows(image, mask, settings, monkeypatch, fast=False)
    _same(fast, slow)
    assert attrs == attrs_slow


def _write_case(tmp_path, dtype, shift_origin=False):
    rng = np.random.default_rng(3)
    arr = rng.normal(30, 40, size=(40, 48, 52)).astype(dtype)
    labels = np.zeros(arr.shape, np.uint8)
    zz, yy, xx = np.indices(arr.shape)
    labels[((zz - 9) ** 2 + (yy - 20) ** 2 + (xx - 25) ** 2) < 30] = 2  # near the first planes
    labels[((zz - 28) ** 2 + (yy - 30) ** 2 + (xx - 30) ** 2) < 40] = 5
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.9, 0.9, 2.5))
    img.SetOrigin((-20.0, 11.5, 3.0))
    img.SetDirection((-1, 0, 0, 0, -1, 0, 0, 0, 1))
    msk = sitk.GetImageFromArray(labels)
    msk.CopyInformation(img)
    if shift_origin:
        msk.SetOrigin((-20.0, 11.5, 3.00001))  # within SimpleITK's tolerance, not equal
    sitk.WriteImage(img, str(tmp_path / "img.nii.gz"))
    sitk.WriteImage(msk, str(tmp_path / "msk.nii.gz"))
    return tmp_path / "img.nii.gz", tmp_path / "msk.nii.gz"


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
@pytest.mark.parametrize("label", [None, 2, 5])
def test_labels_and_types_equal_simpleitk_reader(tmp_path, monkeypatch, dtype, label):
    image, mask = _write_case(tmp_path, dtype)
    settings = load_settings({"interpolation": {"spacing": [1.0, 1.0, 1.0],
                                                "image_method": "linear"},
                              "resegmentation": {"range": [-200, 400]},
                              "discretisation": {"method": "fbs", "bin_width": 10}})
    assert _nifti_input.nifti_arrays(image, mask, settings, label) is not None
    fast, _ = _rows(image, mask, settings, monkeypatch, fast=True, label=label)
    slow, _ = _rows(image, mask, settings, monkeypatch, fast=False, label=label)
    _same(fast, slow)


def test_declines_what_it_does_not_read_exactly(tmp_path):
    image, mask = _write_case(tmp_path, np.int16, shift_origin=True)
    settings = load_settings(None)
    assert _nifti_input.nifti_arrays(image, mask, settings, None) is None  # origins differ
    image, mask = _write_case(tmp_path, np.int16)
    assert _nifti_input.nifti_arrays(image, mask, settings, 7) is None  # label absent
    assert _nifti_input.nifti_arrays(sitk.ReadImage(str(image)), mask, settings, None) is None


def test_families_in_two_threads_give_the_rows_of_one(shared, monkeypatch):
    """One case's families run side by side (RADSIG_THREADS=2) give the same rows, in the same
    order, bit for bit, as one after the other; a family's error is still reported."""
    folder = shared / "ibsi" / "ct_phantom_pat1"
    settings = load_settings(shared.parent.parent / "params" / "ibsi" / "default_ct.yaml")
    image, mask = folder / "image.nii.gz", folder / "mask.nii.gz"
    monkeypatch.setenv("RADSIG_THREADS", "1")
    one, attrs_one = _rows(image, mask, settings, monkeypatch, fast=True)
    monkeypatch.setenv("RADSIG_THREADS", "2")
    two, attrs_two = _rows(image, mask, settings, monkeypatch, fast=True)
    _same(one, two)
    assert attrs_one == attrs_two and len(one) == 215

    from radsig.features import glcm

    def broken(roi, **options):
        raise RuntimeError("no GLCM today")

    monkeypatch.setattr(glcm, "compute", broken)
    rows, attrs = _rows(image, mask, settings, monkeypatch, fast=True)
    assert "no GLCM today" in attrs["family_errors"]["glcm"]
    assert [r[:4] for r in rows] == [r[:4] for r in one]
    glcm_rows = [r for r in rows if r[1] == "glcm"]
    assert glcm_rows and all(np.isnan(r[4]) for r in glcm_rows)
    assert [r[4] for r in rows if r[1] == "glrlm"] == [r[4] for r in one if r[1] == "glrlm"]


def test_mask_only_morphology_is_computed_before_the_image_read(shared, monkeypatch):
    """IBSI mode computes the mask-only morphological features once, before it reads the image
    (events in that order), and the rows equal the SimpleITK path's, which computes them after."""
    from radsig.features import morphology
    from radsig.io import nifti

    folder = shared / "ibsi" / "ct_phantom_pat1"
    settings = load_settings(shared.parent.parent / "params" / "ibsi" / "default_ct.yaml")
    image, mask = folder / "image.nii.gz", folder / "mask.nii.gz"
    events = []
    real_mask, real_planes = morphology.mask_features, nifti.read_planes
    monkeypatch.setattr(morphology, "mask_features",
                        lambda *a: (events.append("mask features"), real_mask(*a))[1])
    monkeypatch.setattr(nifti, "read_planes",
                        lambda *a, **k: (events.append("image"), real_planes(*a, **k))[1])
    fast, _ = _rows(image, mask, settings, monkeypatch, fast=True)
    assert events == ["mask features", "image"]
    slow, _ = _rows(image, mask, settings, monkeypatch, fast=False)
    _same(fast, slow)
