"""``radsig filter``: an IBSI-2 response map on the image's grid, and its one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[2]


def test_filter_writes_the_consensus_map(cli, shared, tmp_path):
    out = tmp_path / "3c3.nii.gz"
    phantom = shared / "ibsi2/phase1/phantoms/checkerboard/image.nii.gz"
    result = cli("filter", phantom, "--params", REPO / "params/ibsi2/phase1/3c3.yaml",
                 "--out", out)
    assert result.returncode == 0, result.stderr
    assert "filter laws" in result.stdout
    got, ref = sitk.ReadImage(str(out)), sitk.ReadImage(
        str(shared / "ibsi2/phase1/reference_maps/3c3.nii.gz"))
    assert got.GetPixelID() == sitk.sitkFloat32
    src = sitk.ReadImage(str(phantom))
    for attr in ("GetSize", "GetSpacing", "GetOrigin", "GetDirection"):
        assert getattr(got, attr)() == getattr(src, attr)()
    g, r = sitk.GetArrayFromImage(got), sitk.GetArrayFromImage(ref)
    assert np.abs(g - r).max() <= 0.01 * (r.max() - r.min())


def test_filter_keeps_an_oblique_geometry(cli, tmp_path):
    arr = np.random.default_rng(0).normal(size=(6, 7, 8)).astype(np.float32)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.8, 0.9, 2.5))
    img.SetOrigin((-10.0, 4.0, 7.5))
    img.SetDirection((0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0))
    sitk.WriteImage(img, str(tmp_path / "in.nii.gz"))
    (tmp_path / "p.yaml").write_text("filters:\n  m: {filter: mean, support: 3, "
                                     "boundary: nearest, dimensions: 2D}\n")
    result = cli("filter", tmp_path / "in.nii.gz", "--params", tmp_path / "p.yaml",
                 "--out", tmp_path / "out.nii.gz")
    assert result.returncode == 0, result.stderr
    out = sitk.ReadImage(str(tmp_path / "out.nii.gz"))
    for attr in ("GetSize", "GetSpacing", "GetOrigin", "GetDirection"):
        np.testing.assert_allclose(getattr(out, attr)(), getattr(img, attr)(), atol=1e-5)
    from scipy import ndimage

    np.testing.assert_allclose(sitk.GetArrayFromImage(out),
                               ndimage.uniform_filter(arr.astype(float), (1, 3, 3),
                                                      mode="nearest"), atol=1e-5)


def test_filter_errors_are_one_line(cli, shared, tmp_path):
    phantom = shared / "ibsi2/phase1/phantoms/impulse/image.nii.gz"
    out = tmp_path / "o.nii.gz"
    result = cli("filter", phantom, "--params", REPO / "params/ibsi/config_a.yaml", "--out", out)
    assert result.returncode == 2 and result.stderr.startswith("error: the settings name no")
    (tmp_path / "two.yaml").write_text(
        "filters:\n  a: {filter: mean, support: 3}\n  b: {filter: log, sigma_mm: 2}\n")
    result = cli("filter", phantom, "--params", tmp_path / "two.yaml", "--out", out)
    assert result.returncode == 2 and "choose one with --filter NAME" in result.stderr
    result = cli("filter", phantom, "--params", tmp_path / "two.yaml", "--filter", "c",
                 "--out", out)
    assert result.returncode == 2 and "valid: a, b" in result.stderr
    result = cli("filter", phantom, "--params", tmp_path / "two.yaml", "--filter", "b",
                 "--out", out)
    assert result.returncode == 0 and out.exists()
    result = cli("filter", tmp_path / "missing.nii.gz", "--params", tmp_path / "two.yaml",
                 "--filter", "b", "--out", out)
    assert result.returncode == 2 and result.stderr.startswith("error:")
    for res in (result,):
        assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_cohort_extract_runs_ibsi2_filters(cli, shared, tmp_path):
    """`radsig cohort extract` with the phase-2 settings 3A: each case's LoG statistics equal
    the IBSI-2 reference values within tolerance."""
    import pandas as pd

    ct = shared / "ibsi/ct_phantom_pat1"
    pd.DataFrame({"patient_id": ["P1", "P2"], "image": [ct / "image.nii.gz"] * 2,
                  "mask": [ct / "mask.nii.gz"] * 2}).to_csv(tmp_path / "m.csv", index=False)
    out = tmp_path / "features.csv"
    result = cli("cohort", "extract", tmp_path / "m.csv", "--params",
                 REPO / "params/ibsi2/phase2/3A.yaml", "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    ref = pd.read_csv(shared / "ibsi2/phase2/reference_values.csv")
    ref = ref[ref["config"] == "3A"]
    assert len(table) == 2
    for _, row in ref.iterrows():
        col = [c for c in table.columns if c.endswith("log_" + row["ibsi_code"])]
        assert len(col) == 1, (row["ibsi_code"], list(table.columns)[:10])
        assert (abs(table[col[0]] - row["value"]) <= row["tolerance"]).all()


def test_filter_takes_a_2d_image(cli, tmp_path):
    """A 2-D image is one axial slice (radsig's reader makes it a one-slice volume): a 2D
    filter gives the same as on the slice."""
    arr = np.random.default_rng(1).normal(size=(20, 24)).astype(np.float32)
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.7, 0.8))
    sitk.WriteImage(img, str(tmp_path / "in.nrrd"))
    (tmp_path / "p.yaml").write_text("filters:\n  l: {filter: log, sigma_mm: 1.5, "
                                     "dimensions: 2D}\n")
    result = cli("filter", tmp_path / "in.nrrd", "--params", tmp_path / "p.yaml",
                 "--out", tmp_path / "out.nrrd")
    assert result.returncode == 0, result.stderr
    out = sitk.ReadImage(str(tmp_path / "out.nrrd"))
    assert out.GetSize()[:2] == img.GetSize() and out.GetSpacing()[:2] == img.GetSpacing()
    from radsig.preprocess.ibsi2_filters import log_filter

    expected = log_filter(arr[None].astype(float), (1.0, 0.8, 0.7), 1.5, "mirror", "2D")[0]
    np.testing.assert_allclose(sitk.GetArrayFromImage(out).reshape(expected.shape), expected,
                               rtol=1e-5, atol=1e-5)
    from radsig.config import load_settings
    from radsig.preprocess.ibsi2_filters import filter_image

    direct, _ = filter_image(img, load_settings(tmp_path / "p.yaml"))  # a 2-D SimpleITK image
    assert direct.GetDimension() == 2
    np.testing.assert_allclose(sitk.GetArrayFromImage(direct), expected, rtol=1e-5, atol=1e-5)
