"""Bad image files: truncated, corrupt, NaN/inf, 4-D, vector, missing — through ``radsig extract``
(both the IBSI and the PyRadiomics-mode readers)."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from _badinput import assert_error, assert_warning, like, truncate, write

from radsig.io.image import read_file


@pytest.mark.parametrize("name", ["img.nii.gz", "img.nii"])
@pytest.mark.parametrize("which", ["image", "mask"])
def test_truncated_file_names_missing_bytes(cli, tmp_path, case, quick, name, which):
    """A cut download (.nii.gz stream or .nii file) is an error with the bytes missing; SimpleITK
    reads the missing voxels as 0."""
    image, mask = case[2], case[3]
    target = tmp_path / ("m_" + name if which == "mask" else name)
    write(mask if which == "mask" else image, target)
    full = len(gzip.decompress(target.read_bytes())) if name.endswith(".gz") else target.stat().st_size
    truncate(target, 0.8)
    args = (case[0], target) if which == "mask" else (target, case[1])
    out = tmp_path / "f.csv"
    line = assert_error(cli("extract", *args, "--params", quick, "--out", out),
                        target.name, "truncated", "bytes of voxel data are missing")
    missing = int(line.split("truncated: ")[1].split(" of ")[0])
    if not name.endswith(".gz"):
        assert missing == full - target.stat().st_size  # exactly the bytes cut off
    assert 0 < missing < full
    assert not out.exists()


def test_truncated_gzip_in_pyradiomics_mode(cli, tmp_path, case):
    """The PyRadiomics-mode fast path (own NIfTI reader) refuses the cut file too."""
    params = tmp_path / "pyr.yaml"
    params.write_text("setting: {binWidth: 25}\nfeatureClass: {firstorder: []}\n")
    img = truncate(write(case[2], tmp_path / "cut.nii.gz"), 0.7)
    assert_error(cli("extract", img, case[1], "--params", params), "cut.nii.gz", "truncated")


def test_corrupt_gzip_stream(cli, tmp_path, case, quick):
    img = write(case[2], tmp_path / "bad.nii.gz")
    raw = bytearray(img.read_bytes())
    for i in range(len(raw) // 2, len(raw) // 2 + 64):
        raw[i] ^= 0xA5
    img.write_bytes(bytes(raw))
    assert_error(cli("extract", img, case[1], "--params", quick), "bad.nii.gz")


def _corrupt_beyond_roi(tmp_path, mode):
    """(image, mask, params): a gzipped CT whose stream is damaged near its end, far beyond the
    ROI's planes (4 MB of voxels, 3 MB gzipped: more than the readers' first blocks)."""
    rng = np.random.default_rng(5)
    arr = rng.normal(40, 20, size=(120, 128, 128)).round().astype(np.int16)
    image = sitk.GetImageFromArray(arr)
    image.SetSpacing((0.8, 0.8, 2.0))
    lab = np.zeros(arr.shape, dtype=np.uint8)
    lab[3:9, 40:60, 40:60] = 1  # the ROI in the first planes
    img = write(image, tmp_path / "ct.nii.gz")
    msk = write(like(image, lab), tmp_path / "roi.nii.gz")
    raw = bytearray(img.read_bytes())
    for i in range(int(len(raw) * 0.9), int(len(raw) * 0.9) + 64):  # near the last planes
        raw[i] ^= 0xA5
    img.write_bytes(bytes(raw))
    params = tmp_path / "p.yaml"
    params.write_text("families: [intensity_statistics, morphology]\n" if mode == "ibsi" else
                      "setting: {binWidth: 25}\nfeatureClass: {firstorder: []}\n")
    return img, msk, params


@pytest.mark.parametrize("mode", ["ibsi", "pyradiomics"])
def test_corrupt_gzip_beyond_the_planes_read(cli, tmp_path, mode):
    """The fast readers inflate a .nii.gz only up to the ROI's planes; the rest of the stream is
    checked (CRC, length) in the background, so a corrupt file is an error even when the
    damage lies beyond those planes (a damaged deflate stream often decodes without an error:
    only the CRC tells)."""
    img, msk, params = _corrupt_beyond_roi(tmp_path, mode)
    out = tmp_path / "f.csv"
    assert_error(cli("extract", img, msk, "--params", params, "--out", out), "ct.nii.gz",
                 "corrupt gzip stream")
    assert not out.exists()


@pytest.mark.parametrize("mode", ["ibsi", "pyradiomics"])
def test_corrupt_gzip_beyond_the_planes_read_by_the_program(tmp_path, mode):
    """The same through the program itself, whose image is inflated ahead by a thread that then
    goes on as the check."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    img, msk, params = _corrupt_beyond_roi(tmp_path, mode)
    out = tmp_path / "f.csv"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    proc = subprocess.run([sys.executable, "-m", "radsig", "extract", str(img), str(msk),
                           "--params", str(params), "--out", str(out)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1 and "ct.nii.gz" in errors[0] and "corrupt gzip stream" in errors[0]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_zero_byte_image(cli, tmp_path, case, quick):
    img = tmp_path / "empty.nii.gz"
    img.write_bytes(b"")
    assert_error(cli("extract", img, case[1], "--params", quick), "empty.nii.gz", "cannot read")


def test_text_file_named_nifti(cli, tmp_path, case, quick):
    img = tmp_path / "notes.nii"
    img.write_text("this is not an image\n" * 30)
    assert_error(cli("extract", img, case[1], "--params", quick), "notes.nii", "cannot read")


def test_missing_image_file(cli, tmp_path, case, quick):
    assert_error(cli("extract", tmp_path / "nope.nii.gz", case[1], "--params", quick),
                 "nope.nii.gz", "not found")


def test_nan_inside_roi_is_an_error(cli, tmp_path, case, quick):
    """NaN/inf voxels are kept (SimpleITK's NIfTI reader turns them into 0) and refused in the ROI."""
    arr = sitk.GetArrayFromImage(case[2])
    arr[6, 7, 8], arr[6, 7, 7] = np.nan, np.inf
    img = write(like(case[2], arr), tmp_path / "nan.nii.gz")
    res = cli("extract", img, case[1], "--params", quick)
    assert_error(res, "nan.nii.gz", "2 voxel(s) in the ROI are NaN or infinite")
    assert any("nan.nii.gz" in w and "NaN or infinite" in w for w in res.warnings)


def test_nan_outside_roi_is_a_warning(cli, tmp_path, case, quick):
    arr = sitk.GetArrayFromImage(case[2])
    arr[0, 0, 0] = np.nan
    img = write(like(case[2], arr), tmp_path / "nan_bg.nii.gz")
    out = tmp_path / "f.csv"
    assert_warning(cli("extract", img, case[1], "--params", quick, "--out", out),
                   "nan_bg.nii.gz", "1 image voxel(s) are NaN or infinite", "kept")
    assert np.isfinite(pd.read_csv(out)["value"]).any()


def test_nan_voxels_kept_by_the_reader(tmp_path, case):
    arr = sitk.GetArrayFromImage(case[2])
    arr[1, 2, 3], arr[2, 3, 4] = np.nan, -np.inf
    img = write(like(case[2], arr), tmp_path / "k.nii")
    with pytest.warns(Warning, match="2 image voxel"):
        back = sitk.GetArrayFromImage(read_file(img))
    assert np.isnan(back[1, 2, 3]) and back[2, 3, 4] == -np.inf
    np.testing.assert_array_equal(np.isfinite(back), np.isfinite(arr))


def test_nan_in_roi_pyradiomics_mode(cli, tmp_path, case):
    params = tmp_path / "pyr.yaml"
    params.write_text("setting: {binWidth: 25}\nfeatureClass: {firstorder: []}\n")
    arr = sitk.GetArrayFromImage(case[2])
    arr[6, 7, 8] = np.nan
    img = write(like(case[2], arr), tmp_path / "nanp.nii.gz")
    res = cli("extract", img, case[1], "--params", params)
    assert_error(res, "NaN")


def test_4d_mask(cli, tmp_path, case, quick):
    four = sitk.JoinSeries([case[3], case[3]])  # two time points
    mask = write(four, tmp_path / "m4.nii.gz")
    assert_error(cli("extract", case[0], mask, "--params", quick), "m4.nii.gz", "4-D", "3-D mask")


def test_4d_image(cli, tmp_path, case, quick):
    img = write(sitk.JoinSeries([case[2]] * 3), tmp_path / "i4.nii.gz")
    assert_error(cli("extract", img, case[1], "--params", quick), "i4.nii.gz", "4-D")


def test_vector_image(cli, tmp_path, case, quick):
    a = sitk.GetArrayFromImage(case[2])
    rgb = sitk.GetImageFromArray(np.stack([a, a, a], axis=-1), isVector=True)
    rgb.CopyInformation(case[2])
    img = write(rgb, tmp_path / "rgb.mha")
    assert_error(cli("extract", img, case[1], "--params", quick), "rgb.mha", "3 components")


def test_nan_in_mask(cli, tmp_path, case, quick):
    m = sitk.GetArrayFromImage(case[3]).astype(np.float32)
    m[0, 0, 0] = np.nan
    mask = write(like(case[2], m), tmp_path / "mnan.nii.gz")
    assert_error(cli("extract", case[0], mask, "--params", quick), "mnan.nii.gz", "NaN")


def test_mask_on_another_grid(cli, tmp_path, case, quick):
    m = case[3]
    other = sitk.Image(m)
    other.SetSpacing((2.0, 1.0, 1.0))
    mask = write(other, tmp_path / "grid.nii.gz")
    assert_error(cli("extract", case[0], mask, "--params", quick), "grid.nii.gz", "geometry",
                 "spacing")


def test_image_is_an_empty_folder(cli, tmp_path, case, quick):
    folder = tmp_path / "series"
    folder.mkdir()
    assert_error(cli("extract", folder, case[1], "--params", quick), "series")


def test_bad_format_option(cli, case, quick):
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--format", "tall"),
                 "--format")


def test_reader_equals_simpleitk_on_good_files(tmp_path, case):
    """The checked reader gives SimpleITK's voxels and geometry on valid files (any type)."""
    for dtype in (np.uint8, np.int16, np.float32, np.float64):
        a = (sitk.GetArrayFromImage(case[2]) * 3).astype(dtype)
        img = like(case[2], a)
        img.SetDirection((0, 1, 0, -1, 0, 0, 0, 0, 1))  # an axis permutation: geometry from ITK
        for name in ("t.nii", "t.nii.gz"):
            write(img, tmp_path / name)
            ours, ref = read_file(tmp_path / name), sitk.ReadImage(str(tmp_path / name))
            assert ours.GetPixelID() == ref.GetPixelID()
            assert ours.GetDirection() == ref.GetDirection() and ours.GetOrigin() == ref.GetOrigin()
            np.testing.assert_array_equal(sitk.GetArrayFromImage(ours), sitk.GetArrayFromImage(ref))


def test_gzip_trailer_cut(cli, tmp_path, case, quick):
    """All voxels present but the gzip end marker and checksum cut off: still a damaged file."""
    img = write(case[2], tmp_path / "tail.nii.gz")
    img.write_bytes(img.read_bytes()[:-6])
    assert_error(cli("extract", img, case[1], "--params", quick), "tail.nii.gz", "cut short")


def test_zero_spacing_in_the_nifti_header(cli, tmp_path, case, quick):
    """pixdim 0: SimpleITK reads 1 mm and every volume and diameter would be off."""
    import struct

    img = write(case[2], tmp_path / "pix0.nii")
    raw = bytearray(img.read_bytes())
    struct.pack_into("<f", raw, 84, 0.0)  # pixdim[2]
    img.write_bytes(bytes(raw))
    assert_error(cli("extract", img, case[1], "--params", quick), "pix0.nii", "voxel spacing",
                 "pixdim of 0")


def test_missing_argument_is_a_one_line_error(cli, case):
    """Usage errors too: one ``error:`` line (no boxed panel), exit 2."""
    assert_error(cli("extract", case[0]), "Missing argument 'mask'", "--help")


@pytest.mark.parametrize("mode", ["ibsi", "pyradiomics"])
def test_nan_far_from_the_roi_warns_in_both_modes(cli, tmp_path, image_factory, quick, mode):
    """The NIfTI fast paths read only the planes an ROI needs; a NaN voxel in a plane they skip is
    still reported (read_file's check), and the features are computed."""
    image, mask = image_factory(shape=(60, 14, 16))  # the ROI ball in the middle planes
    arr = sitk.GetArrayFromImage(image)
    arr[0, 0, 0] = np.nan
    img = write(like(image, arr), tmp_path / "far.nii.gz")
    msk = write(mask, tmp_path / "far_m.nii.gz")
    params = quick
    if mode == "pyradiomics":
        params = tmp_path / "pyr.yaml"
        params.write_text("setting: {binWidth: 25}\nfeatureClass: {firstorder: []}\n")
    out = tmp_path / "f.csv"
    assert_warning(cli("extract", img, msk, "--params", params, "--out", out),
                   "far.nii.gz", "1 image voxel(s) are NaN or infinite", "kept")
    assert np.isfinite(pd.read_csv(out)["value"]).any()
