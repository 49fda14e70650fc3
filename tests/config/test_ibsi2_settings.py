"""IBSI-2 filter entries in the IBSI settings' ``filters:`` section: validation and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from radsig.config import load_settings
from radsig.config.ibsi2 import GaborFilter, LawsFilter, LogFilter, WaveletFilter
from radsig.config.settings import IbsiSettings
from radsig.exceptions import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", sorted((REPO / "params/ibsi2").glob("*/*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_shipped_ibsi2_params_load(path):
    settings = load_settings(path)
    assert isinstance(settings, IbsiSettings)
    if path.parent.name == "phase1" or not path.stem.startswith("1"):
        assert len(settings.ibsi2_filters) == 1


def test_entries_are_parsed_and_pyradiomics_types_kept():
    s = load_settings({"filters": {
        "Original": {}, "LoG": {"sigma": [1.0]},
        "log_s1": {"filter": "log", "sigma_mm": 1.0},
        "wav": {"filter": "wavelet", "wavelet": "db3", "response": "LLH"},
        "gab": {"filter": "gabor", "sigma_mm": 5, "wavelength_mm": 2, "gamma": 1.5,
                "rotation_invariance": True, "theta_step_deg": 22.5, "dimensions": "2D"},
        "laws": {"filter": "laws", "kernel": "L5E5", "dimensions": "2D", "energy_delta": 7},
    }})
    assert set(s.pyradiomics_filters) == {"Original", "LoG"}
    f = s.ibsi2_filters
    assert isinstance(f["log_s1"], LogFilter) and f["log_s1"].boundary == "mirror"
    assert isinstance(f["wav"], WaveletFilter) and f["wav"].level == 1
    assert isinstance(f["gab"], GaborFilter) and len(f["gab"].thetas()) == 16
    assert isinstance(f["laws"], LawsFilter)
    assert not s.filters_trivial


@pytest.mark.parametrize("entry, message", [
    ({"filter": "log", "sigma_mm": 1, "sigma": 2}, r"filters\.x: unknown key 'sigma' for a log "
                                                   r"filter; valid keys: boundary, dimensions"),
    ({"filter": "blur"}, r"filters\.x: unknown filter 'blur'; valid: mean, log"),
    ({"filter": "mean", "support": 4}, r"support must be odd"),
    ({"filter": "log", "sigma_mm": -1}, r"filters\.x\.sigma_mm: Input should be greater"),
    ({"filter": "log", "sigma_mm": 1, "boundary": "reflect"}, r"filters\.x\.boundary"),
    ({"filter": "laws", "kernel": "L5E5"}, r"names 2 axes; a 3D filter needs 3"),
    ({"filter": "laws", "kernel": "L5X5", "dimensions": "2D"}, r"unknown Laws kernel"),
    ({"filter": "wavelet", "response": "LH"}, r"one L or H per axis \(3 for 3D\)"),
    ({"filter": "wavelet", "wavelet": "db99", "response": "LLH"}, r"unknown wavelet 'db99'"),
    ({"filter": "gabor", "sigma_mm": 1, "wavelength_mm": 2, "rotation_invariance": True},
     r"needs theta_step_deg"),
    ({"filter": "simoncelli", "riesz_order": [1, 0]}, r"riesz_order needs 3"),
])
def test_bad_entries_are_one_line_errors(entry, message):
    with pytest.raises(ConfigError, match=message) as err:
        load_settings({"filters": {"x": entry}})
    assert "\n" not in str(err.value)
    assert "Value error" not in str(err.value)


def test_unknown_name_without_filter_key():
    with pytest.raises(ConfigError, match=r"unknown image type\(s\) Wavelets; valid: Original.*"
                                          r"or an IBSI-2 filter"):
        load_settings({"filters": {"Wavelets": {}}})


def test_whole_image_crop_keeps_the_image(image_factory):
    """crop.whole_image: the prepared image is the whole image, not a box around the ROI."""
    import numpy as np

    from radsig.preprocess.pipeline import prepare_roi

    image, mask = image_factory(shape=(30, 32, 34), radius=3.0)
    cropped = prepare_roi(image, mask, load_settings({"crop": {"margin_mm": 10}}))
    whole = prepare_roi(image, mask, load_settings({"crop": {"whole_image": True}}))
    assert whole.image.shape == (30, 32, 34)
    assert cropped.image.shape != whole.image.shape
    assert np.array_equal(whole.image[whole.int_mask], cropped.image[cropped.int_mask])


def test_filter_margin_widens_the_crop(image_factory):
    """An IBSI-2 filter's reach (LoG: 4 σ) widens the crop around the ROI."""
    from radsig.preprocess.pipeline import prepare_roi

    image, mask = image_factory(shape=(40, 40, 40), radius=3.0)
    plain = prepare_roi(image, mask, load_settings({}))
    wide = prepare_roi(image, mask, load_settings(
        {"filters": {"log": {"filter": "log", "sigma_mm": 4.0}}}))
    assert all(w > p for w, p in zip(wide.image.shape, plain.image.shape, strict=True))


@pytest.mark.parametrize("config", ["2A", "3A", "4A", "6A", "7A", "5A", "8A"])
def test_crop_to_the_filter_reach_equals_the_whole_image(shared, config):
    """Without crop.whole_image the crop is widened to each filter's reach, so the filtered
    statistics equal those of the whole image (Fourier-domain filters, which have no finite
    reach, keep the whole image by themselves)."""
    import yaml

    from radsig.features import extract_case, to_wide

    ct = shared / "ibsi/ct_phantom_pat1"
    data = yaml.safe_load((REPO / "params/ibsi2/phase2" / f"{config}.yaml").read_text())
    whole = to_wide(extract_case(ct / "image.nii.gz", ct / "mask.nii.gz", load_settings(data)))
    data["crop"] = {"whole_image": False}
    cropped = to_wide(extract_case(ct / "image.nii.gz", ct / "mask.nii.gz", load_settings(data)))
    keys = [k for k in whole if "_stat_" in k]
    assert len(keys) == 18
    for k in keys:  # 1e-4: ties at the percentile bounds of robust MAD move with rounding
        assert cropped[k] == pytest.approx(whole[k], rel=1e-4, abs=1e-9), k
