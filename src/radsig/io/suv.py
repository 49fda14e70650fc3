"""Standardised uptake values (SUV) from the DICOM tags of a PET series.

SUV_bw = C(Bq/mL) · weight(g) / dose(Bq), with the injected dose decayed to the time the
images are decay-corrected to (series start for ``DecayCorrection = START``, no decay for
``ADMIN``).  Lean-body-mass (SUL, James 1976) and body-surface-area (Du Bois 1916) variants
replace the weight.  Written here because no maintained Python library does the tag
handling with clear errors for missing tags.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from radsig.exceptions import DicomError, MissingDicomTagError

_OVERRIDE_OPTION = {
    "weight": "--suv-weight KG",
    "height": "--suv-height M",
    "sex": "--suv-sex M|F",
    "dose": "--suv-dose BQ",
    "injection_time": "--suv-injection-time HHMMSS",
    "half_life": "--suv-half-life S",
}


def _missing(tag: str, key: str, path: str | None) -> MissingDicomTagError:
    return MissingDicomTagError(
        f"PET tag {tag} needed for SUV is missing or empty; supply it with {_OVERRIDE_OPTION[key]} "
        f"(or use --suv none to keep Bq/mL)", path=path, stage="suv")


def parse_time_of_day(text) -> tuple[int, int, float]:
    """``(hours, minutes, seconds)`` of a DICOM TM (``HHMMSS.FFFFFF``, ``HHMM``, ``HH``) or of
    ``HH:MM[:SS]``; ValueError naming what is wrong otherwise."""
    raw = str(text).strip()
    parts = raw.split(":") if ":" in raw else [raw[0:2], raw[2:4], raw[4:]]
    try:
        hh = int(parts[0])
        mm = int(parts[1]) if len(parts) > 1 and parts[1] else 0
        ss = float(parts[2]) if len(parts) > 2 and parts[2] else 0.0
    except ValueError:
        raise ValueError(f"{raw!r} is not a time; use HHMMSS (e.g. 093000) or HH:MM:SS") from None
    if not (0 <= hh < 24 and 0 <= mm < 60 and 0 <= ss < 61) or len(parts) > 3:
        raise ValueError(f"{raw!r} is not a time of day (hours 0-23, minutes and seconds 0-59)")
    return hh, mm, ss


def parse_dicom_time(date: str | None, time: str | None) -> datetime | None:
    """Combine a DICOM DA (YYYYMMDD) and TM (HHMMSS.FFFFFF) into a datetime."""
    if not time:
        return None
    try:
        hh, mm, ss = parse_time_of_day(time)
        base = datetime.strptime(str(date).strip(), "%Y%m%d") if date else datetime(2000, 1, 1)
    except ValueError as err:
        raise DicomError(f"invalid DICOM date/time {date!r} {time!r}: {err}", stage="suv") from None
    return base + timedelta(hours=hh, minutes=mm, seconds=ss)


#: Plausible ranges of the SUV overrides (unit, low, high): a value outside is a typing error
#: (a height in cm, a weight in g, a negative number), not a patient.
OVERRIDE_RANGES = {"weight": ("kg", 1.0, 500.0), "height": ("m", 0.3, 2.8),
                   "dose": ("Bq", 1e3, 1e11), "half_life": ("s", 1.0, 1e8)}
#: Longest plausible time from injection to acquisition (a PET scan starts ~1 h after).
MAX_UPTAKE_S = 12 * 3600.0


def check_overrides(overrides: dict | None) -> dict:
    """Validate ``--suv-*`` values: numbers in plausible ranges, sex M/F, a real time of day."""
    o = dict(overrides or {})
    for key, (unit, low, high) in OVERRIDE_RANGES.items():
        if key in o and o[key] is not None:
            value = float(o[key])
            if not (low <= value <= high):
                raise DicomError(f"{_OVERRIDE_OPTION[key].split()[0]} {o[key]:g}: must lie between "
                                 f"{low:g} and {high:g} {unit}", stage="suv")
    if o.get("sex") is not None and str(o["sex"]).upper() not in ("M", "F"):
        raise DicomError(f"--suv-sex {o['sex']!r}: must be M or F", stage="suv")
    if o.get("injection_time") is not None:
        try:
            parse_time_of_day(o["injection_time"])
        except ValueError as err:
            raise DicomError(f"--suv-injection-time {err}", stage="suv") from None
    return o


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    """Fraction of activity left after *elapsed_s* seconds: exp(−ln2 · t / T½)."""
    if half_life_s <= 0:
        raise DicomError(f"radionuclide half-life must be positive, got {half_life_s} s")
    return math.exp(-math.log(2.0) * elapsed_s / half_life_s)


def lean_body_mass(weight_kg: float, height_m: float, sex: str) -> float:
    """Lean body mass in kg by James' formula (male 1.10W − 128(W/H)², female 1.07W − 148(W/H)²)."""
    h_cm = height_m * 100.0
    if str(sex).upper().startswith("F"):
        return 1.07 * weight_kg - 148.0 * (weight_kg / h_cm) ** 2
    return 1.10 * weight_kg - 128.0 * (weight_kg / h_cm) ** 2


def body_surface_area(weight_kg: float, height_m: float) -> float:
    """Body surface area in m² by Du Bois: 0.007184 · W^0.425 · H(cm)^0.725."""
    return 0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725


def _get(ds, name: str):
    value = ds.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value


def suv_parameters(ds, overrides: dict | None = None, path: str | None = None) -> dict:
    """Collect units, decay correction, dose, times, half-life, weight, height and sex."""
    o = check_overrides(overrides)
    rp = ds.get("RadiopharmaceuticalInformationSequence")
    rp = rp[0] if rp else {}
    params = {
        "units": str(_get(ds, "Units") or "").upper(),
        "decay_correction": str(_get(ds, "DecayCorrection") or "START").upper(),
        "weight": o.get("weight", _get(ds, "PatientWeight")),
        "height": o.get("height", _get(ds, "PatientSize")),
        "sex": o.get("sex", _get(ds, "PatientSex")),
        "dose": o.get("dose", _get(rp, "RadionuclideTotalDose") if rp else None),
        "half_life": o.get("half_life", _get(rp, "RadionuclideHalfLife") if rp else None),
    }
    series_date = _get(ds, "SeriesDate") or _get(ds, "AcquisitionDate")
    if "injection_time" in o:
        params["injection"] = parse_dicom_time(series_date, str(o["injection_time"]))
    elif rp and _get(rp, "RadiopharmaceuticalStartDateTime"):
        dt = str(rp.RadiopharmaceuticalStartDateTime)
        params["injection"] = parse_dicom_time(dt[:8], dt[8:])
    else:
        params["injection"] = parse_dicom_time(series_date, _get(rp, "RadiopharmaceuticalStartTime") if rp else None)
    params["series"] = parse_dicom_time(series_date, _get(ds, "SeriesTime") or _get(ds, "AcquisitionTime"))
    for key in ("weight", "height", "dose", "half_life"):
        if params[key] is not None:
            params[key] = float(params[key])
    return params


def suv_scale(ds, *, mode: str = "bw", overrides: dict | None = None, path: str | None = None) -> float:
    """Factor that turns the series' Bq/mL values into SUV (1.0 for a series already in SUV).

    Parameters
    ----------
    ds : pydicom Dataset
        Any slice of the PET series (the radiopharmaceutical tags are series-level).
    mode : {"bw", "lbm", "bsa"}
        Body weight (g/mL), lean body mass (SUL) or body surface area (cm²/mL).
    """
    if mode not in {"bw", "lbm", "bsa"}:
        raise DicomError(f"unknown SUV mode {mode!r}; allowed: bw, lbm, bsa, none", path=path)
    p = suv_parameters(ds, overrides, path)
    if p["units"] == "GML":
        return 1.0
    if p["units"] not in {"BQML", ""}:
        raise DicomError(f"PET units {p['units']!r} cannot be converted to SUV (need BQML or GML)",
                         path=path, stage="suv")
    if p["dose"] is None or p["dose"] <= 0:
        raise _missing("RadionuclideTotalDose (0018,1074)", "dose", path)
    if p["weight"] is None or p["weight"] <= 0:
        raise _missing("PatientWeight (0010,1030)", "weight", path)
    dose = p["dose"]
    if p["decay_correction"] == "START":
        if p["half_life"] is None:
            raise _missing("RadionuclideHalfLife (0018,1075)", "half_life", path)
        if p["injection"] is None:
            raise _missing("RadiopharmaceuticalStartTime (0018,1072)", "injection_time", path)
        if p["series"] is None:
            raise _missing("SeriesTime (0008,0031)", "injection_time", path)
        elapsed = (p["series"] - p["injection"]).total_seconds()
        if elapsed < 0:  # injection the evening before a scan after midnight
            elapsed += 86400.0
        if elapsed > MAX_UPTAKE_S:  # injection after the acquisition, or a wrong date/time
            raise DicomError(
                f"injection time {p['injection']:%H:%M:%S} is after the acquisition time "
                f"{p['series']:%H:%M:%S} (or more than {MAX_UPTAKE_S / 3600:.0f} h before it): the "
                "SUV would be off by orders of magnitude; check RadiopharmaceuticalStartTime "
                "(0018,1072) or pass the right one with --suv-injection-time HHMMSS",
                path=path, stage="suv")
        dose = dose * decay_factor(elapsed, p["half_life"])
    elif p["decay_correction"] not in {"ADMIN"}:
        raise DicomError(f"decay correction {p['decay_correction']!r} is not supported (START or ADMIN)",
                         path=path, stage="suv")
    if mode == "bw":
        return p["weight"] * 1000.0 / dose
    if p["height"] is None or p["height"] <= 0:
        raise _missing("PatientSize (0010,1020)", "height", path)
    if mode == "lbm":
        if not p["sex"]:
            raise _missing("PatientSex (0010,0040)", "sex", path)
        return lean_body_mass(p["weight"], p["height"], p["sex"]) * 1000.0 / dose
    return body_surface_area(p["weight"], p["height"]) * 1e4 / dose
