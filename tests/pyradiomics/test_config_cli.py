"""PyRadiomics parameter files: parsing, validation, and the ``radsig extract --params`` path."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pandas as pd
import pytest

from radsig.config import load_settings
from radsig.config.pyradiomics import (
    FEATURE_NAMES,
    PyRadiomicsSettings,
    load_pyradiomics_settings,
)
from radsig.exceptions import ConfigError, FeatureWarning, LabelNotFoundError


def _examples(shared):
    return sorted((shared / "realdata" / "pyradiomics" / "exampleSettings").glob("*.yaml"))


def test_every_example_parameter_file_loads(shared):
    files = _examples(shared)
    assert len(files) >= 8
    for path in files:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FeatureWarning)
            settings = load_settings(path)
        assert isinstance(settings, PyRadiomicsSettings), path.name
        assert settings.image_types


def test_example_ct_file_is_read_unchanged(shared):
    s = load_pyradiomics_settings(shared / "realdata/pyradiomics/exampleSettings/exampleCT.yaml")
    assert s.setting["resampledPixelSpacing"] == [1, 1, 1]
    assert s.setting["padDistance"] == 10 and s.setting["voxelArrayShift"] == 1000
    assert s.image_types["LoG"]["sigma"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert "SumAverage" not in s.feature_classes["glcm"]  # the file lists the others only
    assert len(s.feature_classes["glcm"]) == 22
    assert s.feature_classes["firstorder"] == [n for n, d in FEATURE_NAMES["firstorder"].items()
                                               if d is False]


@pytest.mark.parametrize("params, match", [
    ({"setting": {"binWidht": 25}}, "unknown setting 'binWidht'"),
    ({"setting": {"binWidth": -1}}, "'binWidth' must be > 0"),
    ({"setting": {"interpolator": "cubic"}}, "'interpolator' must be one of"),
    ({"setting": {"resegmentRange": [1, 2, 3]}}, "1 or 2 values"),
    ({"setting": {"weightingNorm": "l2"}}, "'weightingNorm' must be one of"),
    ({"imageType": {"Gabor": {}}}, "unknown imageType 'Gabor'"),
    ({"featureClass": {"glcm": ["Energy"]}}, "unknown feature 'Energy'"),
    ({"featureClass": {"texture": None}}, "unknown featureClass 'texture'"),
    ({"setting": {"force2D": "yes"}}, "'force2D' must be true or false"),
    ({"setting": {"label": 1.5}}, "'label' must be an integer"),
])
def test_invalid_parameters_raise_config_error(params, match):
    with pytest.raises(ConfigError, match=match):
        load_pyradiomics_settings(params)


def test_things_not_honoured_are_announced():
    with pytest.warns(FeatureWarning, match="voxel-based"):
        load_pyradiomics_settings({"voxelSetting": {"kernelRadius": 2}})
    with pytest.warns(FeatureWarning, match="deprecated"):
        s = load_pyradiomics_settings({"featureClass": {"glcm": ["SumVariance", "Contrast"]}})
    assert s.feature_classes["glcm"] == ["Contrast"]
    with pytest.warns(FeatureWarning, match="force2D"):
        load_pyradiomics_settings({"featureClass": {"shape2D": None}})


def test_defaults_match_pyradiomics():
    s = load_pyradiomics_settings({"setting": {}})
    assert s.setting["padDistance"] == 5 and s.setting["distances"] == [1]
    assert s.setting["minimumROIDimensions"] == 2 and s.setting["label"] == 1
    assert "shape2D" not in s.feature_classes and len(s.feature_classes) == 7
    assert s.image_types == {"Original": {}}
    assert s.hash() == load_pyradiomics_settings({"setting": {}}).hash()


def test_label_not_in_mask_is_a_clear_error(image_factory):
    from radsig.features.pyradiomics import extract_case_pyradiomics

    image, mask = image_factory()
    with pytest.raises(LabelNotFoundError, match="label 3 is not in the mask"):
        extract_case_pyradiomics(image, mask, {"setting": {"label": 3}})


def test_diagnostics_only_on_request(image_factory):
    from radsig.features.pyradiomics import extract_case_pyradiomics

    image, mask = image_factory()
    plain = extract_case_pyradiomics(image, mask, {"featureClass": {"firstorder": None}})
    assert not plain["feature"].str.startswith("diagnostics").any()
    asked = extract_case_pyradiomics(image, mask, {"setting": {"additionalInfo": True},
                                                   "featureClass": {"firstorder": None}})
    diag = asked[asked["family"] == "diagnostics"]
    assert "diagnostics_Mask-original_VoxelNum" in set(diag["feature"])
    n = int(diag.set_index("feature").loc["diagnostics_Mask-original_VoxelNum", "value"])
    assert n == int((np.asarray(__import__("SimpleITK").GetArrayFromImage(mask)) == 1).sum())


def test_filters_give_pyradiomics_names(image_factory):
    from radsig.features.pyradiomics import extract_case_pyradiomics

    image, mask = image_factory(shape=(16, 18, 20), radius=5.0)
    df = extract_case_pyradiomics(image, mask, {
        "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}, "Wavelet": {}, "Square": {}},
        "featureClass": {"firstorder": ["Mean"], "glszm": ["ZonePercentage"]}})
    names = set(df["feature"])
    assert {"original_firstorder_Mean", "log-sigma-1-0-mm-3D_firstorder_Mean",
            "wavelet-LLH_glszm_ZonePercentage", "wavelet-LLL_firstorder_Mean",
            "square_firstorder_Mean"} <= names
    assert len(names) == 2 * (1 + 1 + 8 + 1)
    assert list(df.columns) == ["feature", "family", "ibsi_code", "aggregation_code", "value"]


def test_cli_extract_with_pyradiomics_params(shared, run_cli):
    d = shared / "realdata" / "pyradiomics"
    res = run_cli("extract", d / "brain1_image.nrrd", d / "brain1_label.nrrd", "--params",
                  d / "exampleSettings" / "Params.yaml")
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(io.StringIO(res.stdout))
    values = dict(zip(table["feature"], table["value"], strict=True))
    assert "original_glcm_SumAverage" not in values  # Params.yaml leaves it out
    assert "original_shape_Maximum3DDiameter" in values and "original_gldm_LowGrayLevelEmphasis" \
        in values
    base = pd.read_csv(d / "baseline" / "baseline_glcm.csv", index_col=0)["brain1"]
    for name in ("original_glcm_JointEnergy", "original_glcm_Contrast", "original_glcm_Idmn"):
        assert values[name] == pytest.approx(float(base[name]), rel=1e-6)


def test_2d_image_is_extracted_in_plane(shared):
    """A 2-D slice gives the features of the same slice in 3-D with force2D (TotalEnergy then
    uses the pixel area, as PyRadiomics does for 2-D images)."""
    import SimpleITK as sitk

    from radsig.features.pyradiomics import extract_case_pyradiomics

    d = shared / "realdata" / "pyradiomics"
    image, mask = sitk.ReadImage(str(d / "brain2_image.nrrd")), sitk.ReadImage(
        str(d / "brain2_label.nrrd"))
    classes = {"featureClass": {"firstorder": None, "glcm": None, "glszm": None,
                                "shape2D": None}}
    flat = extract_case_pyradiomics(image[:, :, 8], mask[:, :, 8], classes)
    arr = sitk.GetArrayFromImage(mask)
    one = np.zeros_like(arr)
    one[8] = arr[8]
    one_img = sitk.GetImageFromArray(one)
    one_img.CopyInformation(mask)
    vol = extract_case_pyradiomics(image, one_img, dict(classes, setting={"force2D": True}))
    a = dict(zip(flat["feature"], flat["value"], strict=True))
    b = dict(zip(vol["feature"], vol["value"], strict=True))
    assert set(a) == set(b) and "original_shape2D_Perimeter" in a
    for name, value in a.items():
        if name.endswith("TotalEnergy"):
            sx, sy = image.GetSpacing()[:2]
            assert value == pytest.approx(a["original_firstorder_Energy"] * sx * sy)
        else:
            assert value == pytest.approx(b[name], rel=1e-9, abs=1e-12), name


def test_glrlm_drops_directions_whose_lines_hold_one_roi_voxel():
    """PyRadiomics zeroes a direction when no line along it crosses two ROI voxels."""
    from radsig.features.pyradiomics import _matrices as M

    q = np.zeros((1, 3, 3), dtype=np.int64)
    q[0, 0, 0] = q[0, 1, 1] = q[0, 2, 0] = 1  # each row (x line) holds one voxel
    dirs = np.array([[0, 0, 1], [0, 1, 0], [0, 1, 1], [0, 1, -1]])
    p = M.glrlm(q, 1, dirs)
    totals = p.sum((0, 1))
    assert totals[0] == 0  # along x every line holds at most one ROI voxel
    assert totals[1] == 3  # along y: column 0 holds two separate voxels, column 1 one
    assert p[0, 1, 2] == 1 and p[0, 1, 3] == 1  # both diagonals join two voxels in one run


def test_rescaled_filters_use_the_whole_image_maximum(shared):
    """Without resampling PyRadiomics filters the uncropped image, so 'square' is rescaled by the
    whole image's max |x|; radsig reads the whole image in that case."""
    import SimpleITK as sitk

    from radsig.features.pyradiomics import extract_case_pyradiomics

    d = shared / "realdata" / "pyradiomics"
    image = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "breast1_image.nrrd"))).astype(float)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "breast1_label.nrrd"))) == 1
    df = extract_case_pyradiomics(d / "breast1_image.nrrd", d / "breast1_label.nrrd",
                                  {"imageType": {"Square": {}},
                                   "featureClass": {"firstorder": ["Maximum"]}})
    got = float(df.set_index("feature").loc["square_firstorder_Maximum", "value"])
    roi_peak = np.abs(image[mask]).max()
    assert got == pytest.approx(roi_peak ** 2 / np.abs(image).max(), rel=1e-12)
