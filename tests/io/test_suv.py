"""SUV arithmetic on its own: decay correction, SUL (James) and BSA (Du Bois)."""

from __future__ import annotations

import math

import pytest
from pydicom.dataset import Dataset

from radsig.exceptions import DicomError, MissingDicomTagError
from radsig.io.suv import body_surface_area, decay_factor, lean_body_mass, suv_scale


def _pet(units="BQML", decay="START", weight=71.0, dose=3.88777472e8, start="103500.00",
         series="112011.00", half_life=6588.0, size=1.63, sex="M") -> Dataset:
    ds = Dataset()
    ds.Units, ds.DecayCorrection = units, decay
    ds.PatientWeight, ds.PatientSize, ds.PatientSex = weight, size, sex
    ds.SeriesDate, ds.SeriesTime = "20000907", series
    rp = Dataset()
    rp.RadionuclideTotalDose, rp.RadionuclideHalfLife, rp.RadiopharmaceuticalStartTime = dose, half_life, start
    ds.RadiopharmaceuticalInformationSequence = [rp]
    return ds


def test_decay_factor_half_life():
    assert decay_factor(6588.0, 6588.0) == pytest.approx(0.5)
    assert decay_factor(0.0, 6588.0) == 1.0


def test_suv_bw_decay_to_series_start():
    # 10:35:00 → 11:20:11 = 2711 s; dose decayed by 2^(-2711/6588)
    expected_dose = 3.88777472e8 * 2 ** (-2711.0 / 6588.0)
    assert suv_scale(_pet()) == pytest.approx(71000.0 / expected_dose, rel=1e-12)


def test_suv_admin_decay_uses_injected_dose():
    assert suv_scale(_pet(decay="ADMIN")) == pytest.approx(71000.0 / 3.88777472e8, rel=1e-12)


def test_injection_before_midnight():
    ds = _pet(start="235000", series="000500")  # 15 min across midnight
    expected = 71000.0 / (3.88777472e8 * 2 ** (-900.0 / 6588.0))
    assert suv_scale(ds) == pytest.approx(expected, rel=1e-12)


def test_series_in_suv_kept():
    assert suv_scale(_pet(units="GML")) == 1.0


def test_sul_and_bsa():
    # James: 1.10·71 − 128·(71/163)² ; Du Bois: 0.007184·71^0.425·163^0.725
    lbm = 1.10 * 71 - 128 * (71 / 163) ** 2
    assert lean_body_mass(71, 1.63, "M") == pytest.approx(lbm)
    assert lean_body_mass(60, 1.63, "F") == pytest.approx(1.07 * 60 - 148 * (60 / 163) ** 2)
    bsa = 0.007184 * 71**0.425 * 163**0.725
    assert body_surface_area(71, 1.63) == pytest.approx(bsa)
    dose = 3.88777472e8 * math.exp(-math.log(2) * 2711 / 6588)
    assert suv_scale(_pet(), mode="lbm") == pytest.approx(lbm * 1000 / dose)
    assert suv_scale(_pet(), mode="bsa") == pytest.approx(bsa * 1e4 / dose)


def test_missing_tags_named():
    with pytest.raises(MissingDicomTagError, match="RadionuclideTotalDose.*--suv-dose"):
        suv_scale(_pet(dose=None))
    with pytest.raises(MissingDicomTagError, match="PatientSize.*--suv-height"):
        suv_scale(_pet(size=None), mode="lbm")
    assert suv_scale(_pet(weight=None), overrides={"weight": 71.0}) == pytest.approx(suv_scale(_pet()))


def test_unsupported_units():
    with pytest.raises(DicomError, match="CNTS"):
        suv_scale(_pet(units="CNTS"))
