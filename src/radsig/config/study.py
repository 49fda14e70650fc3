"""The study file: cohorts, endpoints, feature settings and the models to build and compare.

A study file is YAML validated by pydantic models with ``extra="forbid"`` (a misspelt key is an
error, not a silent default). Paths are relative to the study file's folder. ``load_study``
checks the schema; ``check_study_data`` then opens every manifest and clinical table and checks
files, columns and classes — both run before any feature is extracted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radsig.config.analyses import AnalysisSpec, LesionSpec
from radsig.exceptions import ConfigError

SEED_MAX = 2**32 - 1 - 1000

Role = Literal["training", "internal", "external", "immunotherapy", "other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CohortSpec(_Strict):
    """One cohort: a manifest of images/ROIs (or a feature table) and a clinical table, joined by
    patient ID. ``features:`` (CSV or Parquet, one row per patient, the study's ID column) replaces
    ``manifest:``; ``clinical:`` may then name the same file, and defaults to it."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    role: Role
    manifest: Path | None = None
    features: Path | None = None
    clinical: Path | None = None
    description: str = ""

    @model_validator(mode="after")
    def _one_source(self) -> CohortSpec:
        if (self.manifest is None) == (self.features is None):
            raise ValueError(f"cohort {self.name!r} needs exactly one of 'manifest' (images) "
                             "and 'features' (a feature table)")
        if self.clinical is None and self.features is None:
            raise ValueError(f"cohort {self.name!r} needs 'clinical' (a table with the endpoints)")
        return self

    @property
    def clinical_path(self) -> Path:
        """The clinical table; a feature-table cohort without ``clinical:`` uses the table itself."""
        return self.clinical if self.clinical is not None else self.features


class EndpointSpec(_Strict):
    """A binary endpoint (``column`` + ``positive``) or a time-to-event one (``time`` + ``event``)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    type: Literal["binary", "survival"]
    column: str | None = None
    positive: str | int | None = 1
    time: str | None = None
    event: str | None = None
    horizons: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(default_factory=list)
    time_unit: str = "months"
    source: str = "clinical"

    @model_validator(mode="after")
    def _fields_for_type(self) -> EndpointSpec:
        if self.type == "binary" and not self.column:
            raise ValueError(f"binary endpoint {self.name!r} needs 'column' (and 'positive')")
        if self.type == "survival" and not (self.time and self.event):
            raise ValueError(f"survival endpoint {self.name!r} needs both 'time' and 'event' columns")
        return self


class DeepSpec(_Strict):
    """Deep features: a CNN on ROI-centred crops, trained on the training cohort only (or a weights file)."""

    modalities: list[str] = Field(default_factory=lambda: ["CT"])
    method: Literal["self_supervised", "supervised", "weights"] = "self_supervised"
    weights: Path | None = None
    endpoint: str | None = None
    size_mm: float = Field(default=48.0, gt=0)
    n_voxels: int = Field(default=24, ge=8, le=128)
    mode: Literal["2.5d", "3d"] = "2.5d"
    window: tuple[float, float] = (-200.0, 300.0)
    suv_max: float = Field(default=15.0, gt=0)
    width: int = Field(default=8, ge=2, le=128)
    n_features: int = Field(default=32, ge=2, le=1024)
    epochs: int = Field(default=6, ge=1, le=500)
    batch_size: int = Field(default=32, ge=2)

    @model_validator(mode="after")
    def _needs(self) -> DeepSpec:
        if self.method == "weights" and self.weights is None:
            raise ValueError("deep method 'weights' needs 'weights' (a JSON sidecar written by radsig.deep)")
        if self.method == "supervised" and not self.endpoint:
            raise ValueError("deep method 'supervised' needs 'endpoint' (a binary endpoint)")
        return self


class HabitatSpec(_Strict):
    """Habitat (intratumour-heterogeneity) features, habitats fitted on the training cohort only."""

    modalities: list[str] = Field(default_factory=lambda: ["CT"])
    k_range: list[int] = Field(default_factory=lambda: [2, 3, 4])
    method: Literal["kmeans", "gmm"] = "kmeans"
    n_supervoxels: int = Field(default=8, ge=2, le=100)
    radius_mm: float = Field(default=3.0, gt=0)


class FeatureSpec(_Strict):
    """Feature settings file (IBSI or PyRadiomics) and which manifest modalities to use.

    ``families``: ``ibsi`` (the settings file), ``deep`` and ``habitat`` (options in ``deep:`` and
    ``habitat:``). Old study files without ``families`` mean ``[ibsi]``. ``settings`` is needed
    only when a cohort has images. ``columns``: a regular expression choosing the feature columns of
    feature tables (default: every numeric column that is not the ID, an endpoint column or a
    clinical variable the study names).
    """

    settings: Path | None = None
    columns: str | None = None
    modalities: list[str] = Field(default_factory=list)
    jobs: int = Field(default=1, ge=1)
    cache: bool = True
    families: list[Literal["ibsi", "deep", "habitat"]] = Field(default_factory=lambda: ["ibsi"])
    deep: DeepSpec = Field(default_factory=DeepSpec)
    habitat: HabitatSpec = Field(default_factory=HabitatSpec)

    @model_validator(mode="after")
    def _ibsi_first(self) -> FeatureSpec:
        if self.columns is not None:
            try:
                re.compile(self.columns)
            except re.error as err:
                raise ValueError(f"features.columns {self.columns!r} is not a regular expression: {err}") from None
        if "ibsi" not in self.families:
            raise ValueError("features.families must include 'ibsi' (deep and habitat are added to it)")
        return self


class BiologySpec(_Strict):
    """Tumour biology linked to the signature: expression matrix, IHC table, immune scores."""

    expression: Path | None = None
    unit: Literal["tpm", "fpkm", "counts", "log2"] = "tpm"
    ihc: Path | None = None
    ihc_columns: list[str] = Field(default_factory=list)
    gene_sets: Path | None = None
    scores: list[str] = Field(default_factory=list)
    score_method: Literal["ssgsea", "mean_z"] = "ssgsea"
    genes: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    phenotype_score: str | None = None
    phenotype_column: str = "tme_phenotype"

    @model_validator(mode="after")
    def _some_input(self) -> BiologySpec:
        if self.expression is None and self.ihc is None:
            raise ValueError("biology needs 'expression' and/or 'ihc'")
        return self


class ValidationSpec(_Strict):
    """Internal validation on the training cohort when no other cohort validates the models.

    ``nested_cv``: repeated stratified K-fold; every model (selection, LASSO tuning, refit,
    cut-off) is fitted on the training folds only and scored on the held-out fold.
    ``split``: one seeded (stratified) split of the training cohort into a training part and an
    internal-validation cohort ``<training>_split``.
    """

    method: Literal["nested_cv", "split"]
    folds: int = Field(default=5, ge=2, le=20)
    repeats: int = Field(default=10, ge=1, le=100)
    fraction: float = Field(default=0.3, gt=0.05, lt=0.8)
    stratify: bool = True


class PublishedSpec(_Strict):
    """A published number for the same data and endpoint, shown beside radsig's own."""

    metric: Literal["auc", "c_index"] = "auc"
    estimate: float
    ci: tuple[float, float] | None = None
    source: str

    @model_validator(mode="after")
    def _ordered(self) -> PublishedSpec:
        if self.ci is not None and not self.ci[0] <= self.estimate <= self.ci[1]:
            raise ValueError(f"published estimate {self.estimate} is outside its CI {list(self.ci)}")
        return self


class ModelSpec(_Strict):
    """A model to build on the training cohort.

    kinds: ``radiomics`` (selection + penalised regression → Rad-score), ``clinical``
    (covariates only), ``combined`` (Rad-scores of ``include`` models + covariates: nomogram),
    ``ensemble`` (average of modality-specific radiomics signatures; with ``learners``, a soft vote
    of different learners — logistic, SVM, random forest, gradient boosting — on features selected
    on the training cohort).
    """

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    kind: Literal["radiomics", "clinical", "combined", "ensemble"]
    endpoint: str
    covariates: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    modalities: list[str] = Field(default_factory=list)
    score: Literal["lasso", "pca"] = "lasso"
    max_features: int = Field(default=8, ge=1, le=100)
    correlation_threshold: float = Field(default=0.9, gt=0.0, le=1.0)
    cutoff: Literal["median", "maxstat", "youden"] = "median"
    survival_endpoints: list[str] = Field(default_factory=list)
    families: list[Literal["ibsi", "deep", "habitat"]] = Field(default_factory=list)
    learners: list[Literal["logistic", "svm", "rf", "gb"]] = Field(default_factory=list)
    published: dict[str, PublishedSpec] = Field(default_factory=dict)
    description: str = ""

    @model_validator(mode="after")
    def _needs(self) -> ModelSpec:
        if self.learners and self.kind != "ensemble":
            raise ValueError(f"model {self.name!r}: 'learners' is for kind 'ensemble', not {self.kind!r}")
        if len(set(self.learners)) != len(self.learners):
            raise ValueError(f"model {self.name!r}: 'learners' lists a learner twice: {self.learners}")
        if self.kind in ("clinical",) and not self.covariates:
            raise ValueError(f"model {self.name!r} of kind 'clinical' needs 'covariates'")
        if self.kind == "combined" and not (self.include or self.covariates):
            raise ValueError(f"model {self.name!r} of kind 'combined' needs 'include' and/or 'covariates'")
        return self


class StudySpec(_Strict):
    """The whole study file."""

    name: str
    description: str = ""
    id_column: str = "patient_id"
    # NumPy / scikit-learn seeds are 32-bit unsigned; each cohort's bootstrap uses seed + i
    seed: int = Field(default=0, ge=0, le=SEED_MAX, strict=True)
    # radsig.evaluate needs >= 100 resamples for a stable percentile interval
    bootstrap: int = Field(default=500, ge=100, le=10000, strict=True)
    lesions: LesionSpec | None = None
    analyses: list[AnalysisSpec] = Field(default_factory=list)
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    cohorts: list[CohortSpec] = Field(min_length=1)
    endpoints: list[EndpointSpec] = Field(min_length=1)
    models: list[ModelSpec] = Field(min_length=1)
    comparisons: list[tuple[str, str]] = Field(default_factory=list)
    table1: list[str] = Field(default_factory=list)
    biology: BiologySpec | None = None
    validation: ValidationSpec | None = None
    base_dir: Path = Path(".")

    @model_validator(mode="after")
    def _cross_refs(self) -> StudySpec:
        _unique("cohort", [c.name for c in self.cohorts])
        _unique("endpoint", [e.name for e in self.endpoints])
        _unique("model", [m.name for m in self.models])
        if sum(c.role == "training" for c in self.cohorts) != 1:
            raise ValueError("exactly one cohort must have role 'training' (models are fitted on it only)")
        endpoints = {e.name for e in self.endpoints}
        seen: set[str] = set()
        binary = {e.name for e in self.endpoints if e.type == "binary"}
        for m in self.models:
            _known(f"model {m.name!r}: endpoint", [m.endpoint, *m.survival_endpoints], endpoints)
            if m.learners and m.endpoint not in binary:
                raise ValueError(f"model {m.name!r}: 'learners' needs a binary endpoint; "
                                 f"{m.endpoint!r} is not one (binary endpoints: {sorted(binary)})")
            _known(f"model {m.name!r}: include", m.include, seen, hint="list included models first")
            seen.add(m.name)
        for a, b in self.comparisons:
            _known("comparisons", [a, b], seen)
        for an in self.analyses:
            _known(f"analysis {an.name!r}: model", [an.model], seen)
            _known(f"analysis {an.name!r}: endpoint", [an.endpoint] if an.endpoint else [], endpoints)
        for m in self.models:
            absent = [f for f in m.families if f not in self.features.families]
            if absent:
                raise ValueError(f"model {m.name!r}: families {absent} are not in features.families "
                                 f"{self.features.families}")
        if self.features.deep.endpoint and "deep" in self.features.families:
            _known("features.deep: endpoint", [self.features.deep.endpoint], endpoints)
        if self.biology is not None:
            _known("biology: models", self.biology.models, seen)
        self._check_tables_validation()
        return self

    def _check_tables_validation(self) -> None:
        """Feature tables, ``validation:`` and ``published:`` agree with the rest of the file."""
        imaged = [c.name for c in self.cohorts if c.manifest is not None]
        if imaged and self.features.settings is None:
            raise ValueError(f"features.settings is required: cohort(s) {imaged} have images (manifest)")
        v = self.validation
        if v is not None and v.method == "nested_cv" and set(self.features.families) - {"ibsi"}:
            raise ValueError("validation nested_cv cannot refit deep/habitat features inside each fold; "
                             "use method 'split' or features.families [ibsi]")
        cohorts = {c.name for c in self.cohorts}
        if v is not None:
            extra = f"{self.training.name}_{'cv' if v.method == 'nested_cv' else 'split'}"
            if extra in cohorts:
                raise ValueError(f"cohort name {extra!r} is used by validation {v.method}; rename the cohort")
            cohorts.add(extra)
        for m in self.models:
            _known(f"model {m.name!r}: published cohort", list(m.published), cohorts)
            kind = {"binary": "auc", "survival": "c_index"}[self.endpoint(m.endpoint).type]
            bad = [c for c, p in m.published.items() if p.metric != kind]
            if bad:
                raise ValueError(f"model {m.name!r}: published metric for {bad} must be {kind!r} "
                                 f"(endpoint {m.endpoint!r})")

    @property
    def training(self) -> CohortSpec:
        return next(c for c in self.cohorts if c.role == "training")

    def endpoint(self, name: str) -> EndpointSpec:
        return next(e for e in self.endpoints if e.name == name)

    def model(self, name: str) -> ModelSpec:
        return next(m for m in self.models if m.name == name)

    def path(self, p: Path) -> Path:
        """Resolve a path of the study file relative to its folder."""
        return p if p.is_absolute() else (self.base_dir / p)


def _unique(what: str, names: list[str]) -> None:
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"{what} names must be unique; repeated: {dup}")


def _known(where: str, names: list[str], allowed: set[str], hint: str = "") -> None:
    bad = [n for n in names if n not in allowed]
    if bad:
        extra = f" ({hint})" if hint else ""
        raise ValueError(f"{where} {bad} not defined; defined: {sorted(allowed)}{extra}")


def _format_validation(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs of the study file)"
        lines.append(f"{loc}: {msg}")
    return f"study file {source} is invalid: " + "; ".join(lines)  # one line, every problem


def load_study(path_or_dict: str | Path | dict, *, base_dir: str | Path | None = None) -> StudySpec:
    """Read and validate a study file (YAML path or already-parsed dict).

    Raises
    ------
    ConfigError
        Malformed YAML, unknown keys, missing fields or inconsistent references.
    """
    if isinstance(path_or_dict, dict):
        data, source = dict(path_or_dict), "(dict)"
        base = Path(base_dir) if base_dir is not None else Path(".")
    else:
        path = Path(path_or_dict)
        source = str(path)
        from radsig.config.yamlfile import load_yaml

        data = load_yaml(path, "study file")
        if not isinstance(data, dict):
            raise ConfigError(f"study file {path} must be a mapping of keys, got {type(data).__name__}")
        base = Path(base_dir) if base_dir is not None else path.resolve().parent
    if "base_dir" in data:
        raise ConfigError(f"study file {source}: 'base_dir' is set by radsig, not by the file")
    try:
        return StudySpec(**data, base_dir=base)
    except ValidationError as err:
        raise ConfigError(_format_validation(err, source)) from None
