"""Cohort manifests: which image and mask make each case, and what else to carry along.

A manifest is a CSV or Parquet table with columns ``patient_id, image, mask`` and optionally
``label`` (integer label in a label map) or ``roi`` (ROI name in an RTSTRUCT/SEG), ``modality``,
``lesion_id``, ``centre``; any other column is carried through to the feature table unchanged.
Relative paths resolve from the manifest's folder.

Problems with the manifest as a whole (unreadable, a required column missing, no rows) raise
:class:`~radsig.exceptions.ConfigError`. Problems with single rows (an empty path, two rows for
the same output row) become failure records, so the rest of the cohort still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from radsig._typing import PathLike
from radsig.exceptions import ConfigError

REQUIRED = ("patient_id", "image", "mask")
OPTIONAL = ("label", "roi", "modality", "lesion_id", "centre")
KEY = ("patient_id", "lesion_id", "modality")
_TEXT_COLUMNS = ("patient_id", "image", "mask", "roi", "modality", "lesion_id", "centre")


@dataclass(frozen=True)
class Case:
    """One row of the manifest, resolved: what a worker needs to extract it.

    Attributes
    ----------
    row : int
        1-based data row of the manifest (header excluded), for messages.
    patient_id, lesion_id, modality : str or None
        The output-row key.
    image, mask : Path
        Absolute paths of the image and mask (files or DICOM folders).
    label : int or None
        Label value in a label-map mask.
    roi : str or None
        ROI name (or regex) in an RTSTRUCT/SEG mask.
    """

    row: int
    patient_id: str
    image: Path
    mask: Path
    lesion_id: str | None = None
    modality: str | None = None
    label: int | None = None
    roi: str | None = None

    @property
    def name(self) -> str:
        """Readable case id: ``patient_id`` plus lesion and modality when given."""
        extra = [x for x in (self.lesion_id, self.modality) if x]
        return "/".join([self.patient_id, *extra])


@dataclass(frozen=True)
class Manifest:
    """A validated manifest.

    Attributes
    ----------
    path : Path or None
        Where it was read from.
    table : DataFrame
        The manifest as read, one row per input row, original column order.
    cases : list of Case
        Rows that can run.
    failures : list of dict
        Rows that cannot run (failure records, see :func:`failure_record`).
    """

    path: Path | None
    table: pd.DataFrame
    cases: list[Case] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    @property
    def carried_columns(self) -> list[str]:
        """Manifest columns copied into the feature table (all but the image and mask paths)."""
        return [c for c in self.table.columns if c not in ("image", "mask")]


def failure_record(*, patient_id: str | None, row: int | None, stage: str, error_type: str,
                   message: str, input: str | None = None, lesion_id: str | None = None,
                   modality: str | None = None) -> dict:
    """A failure record with the columns of ``failures.csv``."""
    return {"patient_id": patient_id, "lesion_id": lesion_id, "modality": modality, "row": row,
            "input": input, "stage": stage, "error_type": error_type, "message": message}


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            table = pd.read_parquet(path)
        elif suffix in (".csv", ".tsv", ".txt"):
            table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",",
                                dtype={c: "string" for c in _TEXT_COLUMNS})
        else:
            raise ConfigError(f"manifest {path}: unsupported file type {suffix!r}; "
                              "give a .csv, .tsv or .parquet file")
    except FileNotFoundError as err:
        raise ConfigError(f"manifest {path} not found") from err
    except (OSError, ValueError, pd.errors.ParserError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"manifest {path} cannot be read as a table: {err}") from err
    return table


def _clean(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    text = str(value).strip()
    return text or None


def _parse_label(value, where: str) -> int | None:
    text = _clean(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not number.is_integer() or number < 0:
        raise ValueError(f"{where}: label must be a non-negative integer, got {text!r}")
    return int(number)


def _case_from_row(i: int, rec: dict, base: Path) -> Case | dict:
    pid = _clean(rec.get("patient_id"))
    lesion, modality = _clean(rec.get("lesion_id")), _clean(rec.get("modality"))

    def fail(message: str, error_type: str = "ManifestError") -> dict:
        return failure_record(patient_id=pid, lesion_id=lesion, modality=modality, row=i,
                              stage="manifest", error_type=error_type, message=message)

    empty = [c for c in REQUIRED if _clean(rec.get(c)) is None]
    if empty:
        return fail(f"manifest row {i}: empty {', '.join(empty)}; every row needs "
                    "patient_id, image and mask")
    try:
        label = _parse_label(rec.get("label"), f"manifest row {i}")
    except ValueError as err:
        return fail(str(err))
    image, mask = (Path(_clean(rec[c])).expanduser() for c in ("image", "mask"))
    return Case(row=i, patient_id=pid, lesion_id=lesion, modality=modality,
                image=image if image.is_absolute() else base / image,
                mask=mask if mask.is_absolute() else base / mask,
                label=label, roi=_clean(rec.get("roi")))


def _flag_duplicates(cases: list[Case]) -> tuple[list[Case], list[dict]]:
    groups: dict[tuple, list[Case]] = {}
    for case in cases:
        groups.setdefault((case.patient_id, case.lesion_id, case.modality), []).append(case)
    kept, failures = [], []
    for case in cases:
        group = groups[(case.patient_id, case.lesion_id, case.modality)]
        if len(group) == 1:
            kept.append(case)
            continue
        rows = ", ".join(str(c.row) for c in group)
        failures.append(failure_record(
            patient_id=case.patient_id, lesion_id=case.lesion_id, modality=case.modality,
            row=case.row, input=str(case.image), stage="manifest", error_type="DuplicateCaseError",
            message=(f"patient_id {case.patient_id!r} (lesion_id={case.lesion_id}, "
                     f"modality={case.modality}) appears in manifest rows {rows}; each output row "
                     "needs a unique (patient_id, lesion_id, modality): remove the extra row or "
                     "tell the rows apart with lesion_id/modality. None of these rows was run.")))
    return kept, failures


def load_manifest(manifest: PathLike | pd.DataFrame, *, base_dir: PathLike | None = None
                  ) -> Manifest:
    """Read and validate a manifest.

    Parameters
    ----------
    manifest : path or DataFrame
        CSV/TSV/Parquet file, or a table already in memory.
    base_dir : path, optional
        Folder relative paths resolve from; defaults to the manifest's folder (or the current
        folder for a DataFrame).

    Returns
    -------
    Manifest

    Raises
    ------
    ConfigError
        Unreadable manifest, missing required columns or no rows.
    """
    if isinstance(manifest, pd.DataFrame):
        path, table = None, manifest.copy()
        base = Path(base_dir or ".").resolve()
    else:
        path = Path(manifest).expanduser().resolve()
        table = _read_table(path)
        base = Path(base_dir).resolve() if base_dir else path.parent
    where = f"manifest {path}" if path else "manifest"
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ConfigError(f"{where}: missing required column(s) {', '.join(missing)}; "
                          f"required: {', '.join(REQUIRED)}; found: {', '.join(map(str, table.columns))}")
    if table.empty:
        raise ConfigError(f"{where} has no rows; add one row per case (patient_id, image, mask)")
    table = table.reset_index(drop=True)
    for column in ("patient_id", "lesion_id", "modality"):
        if column in table.columns:
            table[column] = table[column].map(_clean).astype("string")
    cases, failures = [], []
    for i, rec in enumerate(table.to_dict("records"), start=1):
        result = _case_from_row(i, rec, base)
        (failures if isinstance(result, dict) else cases).append(result)
    kept, duplicates = _flag_duplicates(cases)
    return Manifest(path=path, table=table, cases=kept,
                    failures=sorted(failures + duplicates, key=lambda f: f["row"]))
