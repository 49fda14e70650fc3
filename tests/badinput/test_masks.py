"""Masks that are wrong or suspicious: several labels, float and non-binary values, empty, full,
a label not present, anisotropic voxels without resampling."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from _badinput import assert_error, assert_warning, like, write

from radsig.io import binarise_mask


def test_several_labels_without_label_warns_and_lists_them(cli, tmp_path, case, quick):
    m = sitk.GetArrayFromImage(case[3]).astype(np.uint8)
    m[0:2, 0:3, 0:3] = 2
    m[-2:, -3:, -3:] = 7
    mask = write(like(case[2], m), tmp_path / "labels.nii.gz")
    line = assert_warning(cli("extract", case[0], mask, "--params", quick, "--out", tmp_path / "f.csv"),
                          "labels.nii.gz", "3 labels (1, 2, 7)", "merged", "--label")
    assert "no --label" in line


def test_label_not_present_lists_labels(cli, tmp_path, case, quick):
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--label", "4"),
                 "msk.nii.gz", "label 4 is not in the mask", "labels present: 1")


def test_float_mask_of_halves_is_not_empty(cli, tmp_path, case, quick):
    """A 0/0.5 mask: the ROI is the 0.5 voxels (rounding made it empty)."""
    m = sitk.GetArrayFromImage(case[3]).astype(np.float32) * 0.5
    mask = write(like(case[2], m), tmp_path / "half.nii.gz")
    out = tmp_path / "f.csv"
    assert_warning(cli("extract", case[0], mask, "--params", quick, "--out", out),
                   "half.nii.gz", "not binary", "above 0.25")
    with pytest.warns(Warning, match="not binary"):
        roi = binarise_mask(like(case[2], m), case[2])
    np.testing.assert_array_equal(sitk.GetArrayFromImage(roi), sitk.GetArrayFromImage(case[3]))


def test_float_mask_with_background_06_is_not_the_whole_image(cli, tmp_path, case, quick):
    m = np.where(sitk.GetArrayFromImage(case[3]) > 0, 1.0, 0.6).astype(np.float32)
    mask = write(like(case[2], m), tmp_path / "bg06.nii.gz")
    out = tmp_path / "f.csv"
    assert_warning(cli("extract", case[0], mask, "--params", quick, "--out", out),
                   "bg06.nii.gz", "not binary", "above 0.8")
    with pytest.warns(Warning, match="not binary"):
        roi = sitk.GetArrayFromImage(binarise_mask(like(case[2], m), case[2]))
    assert roi.sum() == sitk.GetArrayFromImage(case[3]).sum() < roi.size


def test_probability_mask_threshold_half(tmp_path, case):
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, sitk.GetArrayFromImage(case[3]).shape).astype(np.float32)
    p.flat[0], p.flat[1] = 0.0, 1.0
    with pytest.warns(Warning, match=r"above 0\.5"):
        roi = sitk.GetArrayFromImage(binarise_mask(like(case[2], p), case[2]))
    np.testing.assert_array_equal(roi, (p > 0.5).astype(np.uint8))


def test_label_option_on_non_integer_mask(cli, tmp_path, case, quick):
    m = sitk.GetArrayFromImage(case[3]).astype(np.float32) * 0.7
    mask = write(like(case[2], m), tmp_path / "f07.nii.gz")
    assert_error(cli("extract", case[0], mask, "--params", quick, "--label", "1"),
                 "f07.nii.gz", "non-integer")


def test_empty_mask(cli, tmp_path, case, quick):
    mask = write(like(case[2], np.zeros(sitk.GetArrayFromImage(case[3]).shape, np.uint8)),
                 tmp_path / "empty.nii.gz")
    out = tmp_path / "f.csv"
    assert_error(cli("extract", case[0], mask, "--params", quick, "--out", out),
                 "empty.nii.gz", "empty")
    assert not out.exists()


def test_mask_without_background(cli, tmp_path, case, quick):
    mask = write(like(case[2], np.ones(sitk.GetArrayFromImage(case[3]).shape, np.uint8)),
                 tmp_path / "full.nii.gz")
    assert_warning(cli("extract", case[0], mask, "--params", quick, "--out", tmp_path / "f.csv"),
                   "full.nii.gz", "every voxel", "whole image")


def test_anisotropic_voxels_without_resampling(cli, tmp_path, image_factory, quick):
    image, mask = image_factory(spacing=(5.0, 0.8, 0.8))
    img, msk = write(image, tmp_path / "aniso.nii.gz"), write(mask, tmp_path / "aniso_m.nii.gz")
    assert_warning(cli("extract", img, msk, "--params", quick, "--out", tmp_path / "f.csv"),
                   "aniso.nii.gz", "anisotropic", "0.8 x 0.8 x 5 mm", "interpolation")


def test_anisotropic_voxels_pyradiomics_mode(cli, tmp_path, image_factory):
    image, mask = image_factory(spacing=(5.0, 0.8, 0.8))
    img, msk = write(image, tmp_path / "aniso.nii.gz"), write(mask, tmp_path / "aniso_m.nii.gz")
    params = tmp_path / "pyr.yaml"
    params.write_text("setting: {binWidth: 25}\nfeatureClass: {firstorder: []}\n")
    assert_warning(cli("extract", img, msk, "--params", params, "--out", tmp_path / "f.csv"),
                   "aniso.nii.gz", "anisotropic", "resampledPixelSpacing")


def test_isotropic_or_resampled_gives_no_warning(cli, tmp_path, case, quick):
    res = cli("extract", case[0], case[1], "--params", quick, "--out", tmp_path / "f.csv")
    assert res.code == 0 and not res.warnings, res.stderr


def test_2d_mask_on_3d_image(cli, tmp_path, case, quick):
    m = sitk.GetArrayFromImage(case[3])[6]
    mask = write(sitk.GetImageFromArray(m), tmp_path / "slice.nii.gz")
    assert_error(cli("extract", case[0], mask, "--params", quick), "slice.nii.gz", "geometry")


def test_roi_name_with_a_label_map(cli, case, quick):
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--roi", "GTV"),
                 "msk.nii.gz", "RTSTRUCT or SEG")


def test_label_map_with_negative_and_positive_labels(cli, tmp_path, case, quick):
    m = sitk.GetArrayFromImage(case[3]).astype(np.int16)
    m[0, 0:3, 0:3] = -1
    mask = write(like(case[2], m), tmp_path / "neg.nii.gz")
    assert_warning(cli("extract", case[0], mask, "--params", quick, "--out", tmp_path / "f.csv"),
                   "neg.nii.gz", "2 labels (-1, 1)")


def _pyr_params(tmp_path):
    params = tmp_path / "pyr.yaml"
    params.write_text("setting: {binWidth: 25}\nfeatureClass: {firstorder: []}\n")
    return params


def test_several_labels_pyradiomics_mode_names_the_label_used(cli, tmp_path, case):
    """PyRadiomics mode takes label 1 only: said, with the labels present (fast and full path)."""
    m = sitk.GetArrayFromImage(case[3]).astype(np.uint8)
    m[0:2, 0:3, 0:3] = 2
    for name in ("pl.nii.gz", "pl.nrrd"):  # NIfTI: own reader's fast path; NRRD: SimpleITK path
        mask = write(like(case[2], m), tmp_path / name)
        assert_warning(cli("extract", case[0], mask, "--params", _pyr_params(tmp_path)),
                       name, "2 labels (1, 2)", "uses label 1 only", "--label")
        res = cli("extract", case[0], mask, "--params", _pyr_params(tmp_path), "--label", "2")
        assert res.code == 0 and not res.warnings, res.stderr


def test_float_mask_pyradiomics_mode(cli, tmp_path, case):
    m = sitk.GetArrayFromImage(case[3]).astype(np.float32) * 0.5
    mask = write(like(case[2], m), tmp_path / "phalf.nii.gz")
    assert_error(cli("extract", case[0], mask, "--params", _pyr_params(tmp_path)),
                 "phalf.nii.gz", "non-integer values (0 to 0.5)")


def test_label_zero_is_the_background(cli, case, quick):
    """--label 0 made the whole background the ROI."""
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--label", "0"),
                 "msk.nii.gz", "label 0 is the background")
