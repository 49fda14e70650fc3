"""Reading images and masks: formats, geometry checks and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.exceptions import (
    EmptyMaskError,
    GeometryMismatchError,
    ImageReadError,
    LabelNotFoundError,
)
from radsig.io import read_image, read_mask


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha", ".mhd"])
def test_round_trip_formats(tmp_path, image_factory, suffix):
    image, mask = image_factory()
    sitk.WriteImage(image, str(tmp_path / f"img{suffix}"))
    sitk.WriteImage(mask, str(tmp_path / f"msk{suffix}"))
    read = read_image(tmp_path / f"img{suffix}")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(read), sitk.GetArrayFromImage(image))
    m = read_mask(tmp_path / f"msk{suffix}", read)
    assert m.GetPixelID() == sitk.sitkUInt8
    np.testing.assert_array_equal(sitk.GetArrayFromImage(m), sitk.GetArrayFromImage(mask))


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(ImageReadError, match=r"nope\.nii\.gz.*not found"):
        read_image(tmp_path / "nope.nii.gz")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"definitely not a nifti file")
    with pytest.raises(ImageReadError, match="corrupt"):
        read_image(bad)


def test_geometry_mismatch(tmp_path, image_factory):
    image, _ = image_factory()
    _, other = image_factory(spacing=(2.0, 1.0, 1.0))
    sitk.WriteImage(other, str(tmp_path / "m.nii.gz"))
    with pytest.raises(GeometryMismatchError, match="spacing"):
        read_mask(tmp_path / "m.nii.gz", image)
    _, small = image_factory(shape=(10, 14, 16))
    sitk.WriteImage(small, str(tmp_path / "s.nii.gz"))
    with pytest.raises(GeometryMismatchError, match="size"):
        read_mask(tmp_path / "s.nii.gz", image)


def test_label_selection_and_errors(tmp_path, image_factory):
    image, mask = image_factory(labels=3)
    sitk.WriteImage(mask, str(tmp_path / "m.nii.gz"))
    assert sitk.GetArrayFromImage(read_mask(tmp_path / "m.nii.gz", image, label=3)).sum() > 0
    with pytest.raises(LabelNotFoundError, match=r"label 2 .*labels present: 3"):
        read_mask(tmp_path / "m.nii.gz", image, label=2)


def test_empty_mask(tmp_path, image_factory):
    image, mask = image_factory()
    empty = sitk.Image(mask.GetSize(), sitk.sitkUInt8)
    empty.CopyInformation(mask)
    sitk.WriteImage(empty, str(tmp_path / "e.nii.gz"))
    with pytest.raises(EmptyMaskError, match="empty"):
        read_mask(tmp_path / "e.nii.gz", image)


@pytest.mark.parametrize("pixel", [sitk.sitkUInt8, sitk.sitkInt16, sitk.sitkFloat32,
                                   sitk.sitkFloat64])
def test_label_maps_of_any_type_give_the_same_roi(tmp_path, image_factory, pixel):
    """Integer label maps are compared as they are; float ones are rounded first (a label
    stored as 1.9999 is label 2)."""
    from radsig.io import binarise_mask

    image, _ = image_factory()
    labels = np.zeros(sitk.GetArrayFromImage(image).shape, dtype=np.float64)
    labels[1:3, 2:5, 2:6] = 1.0
    labels[3:5, 5:8, 1:4] = 2.0
    stored = labels + (np.where(labels > 0, 0.0001 if pixel == sitk.sitkFloat64 else 0.0, 0.0))
    if pixel in (sitk.sitkFloat32, sitk.sitkFloat64):
        stored[labels == 2] = 1.9999
    mask = sitk.Cast(sitk.GetImageFromArray(stored), pixel)
    mask.CopyInformation(image)
    for label in (None, 1, 2):
        roi = sitk.GetArrayFromImage(binarise_mask(mask, image, label=label))
        expected = labels > 0 if label is None else labels == label
        np.testing.assert_array_equal(roi, expected.astype(np.uint8))
