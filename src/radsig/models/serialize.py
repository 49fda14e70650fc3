"""Model files: versioned, checksummed JSON. Never pickle; loading never executes code.

API (for tools that read or write model files, e.g. ``radsig serve``)::

    from radsig.models.serialize import read_model_file, write_model_file
    doc, checksum = read_model_file(path)          # verified dict (header included), "sha256:<hex>"
    checksum = write_model_file(document, path, content="study")   # or content="estimator"
    doc["content"]                                 # "study" (radsig study's model.json) or "estimator"

Every failure is :class:`radsig.exceptions.ModelFileError` whose message names the file and what
is wrong (not found, not UTF-8, not JSON / truncated, a JSON array, nesting over ``MAX_DEPTH``,
a NaN/inf number, unknown ``format`` / ``format_version`` / ``content``, no or wrong checksum,
a missing key, a model kind / link / term source / learner or estimator class outside the
allow-lists). ``write_model_file`` adds the header, refuses NaN/inf (naming the key, e.g.
``models[0].terms[1].coef``) and writes atomically (temporary file + rename: an existing file is
replaced whole or left untouched). The checksum is also ``doc["checksum"]``; ``load_model`` /
``save_model`` are the estimator-level wrappers. A study document's schema is in
``_check_study`` (``STUDY_MODEL_KINDS``, ``STUDY_LINKS``, ``STUDY_TERM_SOURCES``, ``STUDY_LEARNERS``).

A model file is one JSON object; its header is::

    {"format": "radsig-model", "format_version": 1, "content": "estimator" | "study",
     "radsig_version": "...", "created": "...", ..., "checksum": "sha256:..."}

An ``estimator`` file also holds ``sklearn_version``, ``feature_settings_hash``,
``input_features``, ``selected_features``, ``cutoffs``, ``metadata`` and ``model`` (the encoded
estimator). A ``study`` file (``radsig study``'s ``model.json``) holds ``id_column``,
``feature_settings``, ``modalities``, ``clinical_columns`` and ``models`` (the frozen models of
:mod:`radsig.study.modelling`; a ``learner`` member embeds an estimator document).

Estimators are encoded by :mod:`radsig.models._codec`: their class name (looked up in a fixed
allow-list; anything else is refused) and their instance attributes, each restricted to JSON
numbers, strings, lists, dicts, NumPy arrays (stored as dtype + shape + flat list) and nested
allowed estimators. Decision trees (random forest, gradient boosting) are stored as the node
arrays of scikit-learn's ``tree_`` object; loading a tree model therefore requires the same
scikit-learn version that wrote it, and a different version is refused with
:class:`~radsig.exceptions.ModelFileError`.

The checksum is the SHA-256 of the canonical JSON of everything but the checksum: it detects
edits and corruption, it is not a signature against a deliberate forger.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from radsig.exceptions import ModelFileError
from radsig.models._codec import allowed_classes, decode, encode, has_tree

FORMAT = "radsig-model"
FORMAT_VERSION = 1
#: what a model file may hold: one fitted estimator (:func:`save_model`) or a study's frozen models
CONTENTS = ("estimator", "study")
#: deepest JSON nesting accepted (a study with an ensemble of forests needs about 25)
MAX_DEPTH = 64


def _canonical(doc: dict) -> bytes:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("utf-8")


def _checksum(doc: dict) -> str:
    try:
        return "sha256:" + hashlib.sha256(_canonical(doc)).hexdigest()
    except ValueError as err:  # allow_nan=False: a NaN/inf number has no canonical JSON
        raise ModelFileError(f"model document holds a non-finite number ({err})") from None


def _plain(obj: Any, where: str) -> Any:
    """*obj* as plain JSON values (NumPy scalars/arrays → numbers/lists, tuples → lists); a NaN
    or infinite number is an error naming its place (``models[0].terms[2].coef``)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, str, np.bool_)):
        return bool(obj) if isinstance(obj, np.bool_) else obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        if not np.isfinite(obj):
            raise ModelFileError(f"model document: {where} is {float(obj)}; every number in a "
                                 "model file must be finite (the fit that produced it failed)")
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise ModelFileError(f"model document: {where} holds a {type(obj).__name__}, which a model "
                         "file cannot store (JSON numbers, strings, lists and objects only)")


def _depth(doc: Any) -> int:
    """Deepest nesting of lists/objects, without recursion (a hostile file may nest 10⁵ levels)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        obj, d = stack.pop()
        if isinstance(obj, (dict, list)):
            deepest = max(deepest, d)
            if d > MAX_DEPTH:
                return d
            stack.extend((v, d + 1) for v in (obj.values() if isinstance(obj, dict) else obj)
                         if isinstance(v, (dict, list)))
    return deepest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a finite number; every number in a model file must be finite")


def _finite_float(text: str) -> float:
    val = float(text)
    if not np.isfinite(val):  # 1e999 parses to inf
        raise ValueError(f"{text} is not a finite number; every number in a model file must be finite")
    return val


def _parse(text: str, path) -> Any:
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise ModelFileError(f"{path}: the JSON is nested too deeply to be a radsig model file "
                             f"(more than {MAX_DEPTH} levels)") from None
    except ValueError as err:  # JSONDecodeError (truncated, not JSON) or a NaN/Infinity literal
        raise ModelFileError(f"{path}: not a readable radsig model file ({err}); expected JSON "
                             "written by radsig (radsig study or radsig.models.save_model)") from None


def read_model_file(path) -> tuple[dict, str]:
    """Read and verify a model file without decoding any estimator in it.

    Checks, each failure a :class:`ModelFileError` naming the file and what is wrong: readable
    UTF-8 JSON; an object (not an array); nesting at most ``MAX_DEPTH``; every number finite;
    ``format``/``format_version``/``content`` known; the SHA-256 checksum; the content's schema
    (for a study: every key present, allow-listed model kinds, links and term sources; for an
    estimator: allow-listed classes only).

    Returns
    -------
    (dict, str)
        The document (header included) and its checksum (``"sha256:<hex>"``).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        what = "not found" if isinstance(err, FileNotFoundError) else f"cannot be read ({err.strerror})"
        raise ModelFileError(f"model file {what}: {path}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFileError(f"{path}: not a readable radsig model file (not UTF-8 text: byte "
                             f"{err.start} is 0x{raw[err.start]:02x}); expected JSON written by "
                             "radsig (radsig study or radsig.models.save_model)") from None
    doc = verify_document(_parse(text, path), path)
    return doc, doc["checksum"]


def verify_document(doc, path) -> dict:
    """Check a parsed model document: shape, header, checksum and content schema (*path* names
    it in messages). Returns *doc*."""
    if not isinstance(doc, dict):
        raise ModelFileError(f"{path}: not a radsig model file: the JSON is a "
                             f"{type(doc).__name__}, not an object with format={FORMAT!r}")
    if _depth(doc) > MAX_DEPTH:
        raise ModelFileError(f"{path}: the JSON is nested too deeply to be a radsig model file "
                             f"(more than {MAX_DEPTH} levels)")
    if doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a radsig model file (format {doc.get('format')!r}, "
                             f"expected {FORMAT!r}); expected a file written by radsig")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model file format_version {doc.get('format_version')!r} is not supported "
            f"by this radsig (reads version {FORMAT_VERSION}; file written by radsig "
            f"{doc.get('radsig_version')}); re-save the model with this radsig version")
    content = doc.get("content", "estimator" if "model" in doc else None)
    if content not in CONTENTS:
        raise ModelFileError(f"{path}: unknown model file content {content!r} "
                             f"(allowed: {', '.join(CONTENTS)})")
    if not isinstance(doc.get("checksum"), str):
        raise ModelFileError(f"{path}: the model file has no checksum; it was not written by "
                             "this radsig or was edited")
    if doc["checksum"] != _checksum(doc):
        raise ModelFileError(f"{path}: checksum mismatch: the model file was modified or "
                             "corrupted after it was saved; re-export it from the study")
    if content == "study":
        _check_study(doc, path)
    else:
        _check_estimator(doc, path)
    return doc


def write_model_file(document: dict, path, *, content: str = "study") -> str:
    """Write *document* as a model file, atomically (temporary file + rename); returns its checksum.

    The header (``format``, ``format_version``, ``content``, ``radsig_version``, ``created``,
    ``checksum``) is added; NumPy values become JSON numbers and lists; a NaN or infinite number
    anywhere, or a document that breaks the content's schema, is a :class:`ModelFileError` and
    nothing is written (an existing file at *path* is left as it was).
    """
    import radsig

    if content not in CONTENTS:
        raise ModelFileError(f"unknown model file content {content!r} (allowed: {', '.join(CONTENTS)})")
    doc = _plain({k: v for k, v in document.items() if k != "checksum"}, "")
    doc.update({"format": FORMAT, "format_version": FORMAT_VERSION, "content": content})
    doc.setdefault("radsig_version", radsig.__version__)
    doc.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    doc["checksum"] = _checksum(doc)
    path = Path(path)
    verify_document(doc, path)
    from radsig._atomic import write_text  # the one atomic writer (temporary file, fsync, rename)

    write_text(path, json.dumps(doc, indent=1, sort_keys=True, allow_nan=False))
    return doc["checksum"]


# ---------------------------------------------------------------- content schemas
#: allow-lists of a study's frozen models (radsig.study.modelling writes them)
STUDY_MODEL_KINDS = ("radiomics", "clinical", "combined", "ensemble", "learner")
STUDY_LINKS = ("logistic", "cox")
STUDY_TERM_SOURCES = ("feature", "clinical", "model")
STUDY_LEARNERS = ("logistic", "svm", "rf", "gb")


def _need(obj: dict, key: str, types, where: str, path) -> Any:
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path}: {where or '(top level)'} must be an object, "
                             f"not {type(obj).__name__}")
    if key not in obj:
        raise ModelFileError(f"{path}: missing key {f'{where}.{key}' if where else key!r}")
    val = obj[key]
    ok = isinstance(val, types) and not (isinstance(val, bool) and bool not in _as_tuple(types))
    if not ok:
        names = "/".join(t.__name__ for t in _as_tuple(types))
        raise ModelFileError(f"{path}: {where + '.' if where else ''}{key} must be {names}, "
                             f"not {type(val).__name__}")
    return val


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _one_of(val, allowed, what: str, path) -> None:
    if val not in allowed:
        raise ModelFileError(f"{path}: {what} {val!r} is not allowed (allowed: {', '.join(allowed)})")


_NUM = (int, float)


def _check_study(doc: dict, path) -> None:
    _need(doc, "id_column", str, "", path)
    fs = _need(doc, "feature_settings", dict, "", path)
    _need(fs, "raw", dict, "feature_settings", path)
    _need(fs, "hash", str, "feature_settings", path)
    _need(fs, "extractor", str, "feature_settings", path)
    for key in ("modalities", "clinical_columns"):
        vals = _need(doc, key, list, "", path)
        if not all(isinstance(v, str) for v in vals):
            raise ModelFileError(f"{path}: {key} must be a list of strings")
    models = _need(doc, "models", list, "", path)
    if not models:
        raise ModelFileError(f"{path}: models is empty; a study model file holds at least one model")
    names: set[str] = set()
    for i, m in enumerate(models):
        _check_study_model(m, f"models[{i}]", names, path, top=True)
        names.add(m["name"])
    intens = doc.get("intensity")
    if intens is not None:
        for mod, summ in _need(doc, "intensity", dict, "", path).items():
            for kind, stat in (_need(doc["intensity"], mod, dict, "intensity", path).items()
                               if summ is not None else ()):
                where = f"intensity.{mod}.{kind}"
                _one_of(kind, ("location", "spread"), f"{where}:", path)
                _need(stat, "feature", str, where, path)
                for key in ("center", "delta", "q01", "q99"):
                    _need(stat, key, _NUM, where, path)
                if not _need(stat, "scale", _NUM, where, path) > 0:
                    raise ModelFileError(f"{path}: {where}.scale must be positive")


def _check_study_model(m, where: str, earlier: set[str], path, top: bool) -> None:
    name = _need(m, "name", str, where, path)
    _one_of(_need(m, "kind", str, where, path), STUDY_MODEL_KINDS, f"{where}.kind of model {name!r}:", path)
    _one_of(_need(m, "link", str, where, path), STUDY_LINKS, f"{where}.link of model {name!r}:", path)
    if top or m["kind"] == "learner":
        cut = _need(m, "cutoff", dict, where, path)
        _need(cut, "value", _NUM, f"{where}.cutoff", path)
    if m["kind"] == "ensemble":
        members = _need(m, "members", list, where, path)
        if not members:
            raise ModelFileError(f"{path}: {where}.members of ensemble {name!r} is empty")
        for j, sub in enumerate(members):
            _check_study_model(sub, f"{where}.members[{j}]", earlier, path, top=False)
        return
    if m["kind"] != "learner":
        _need(m, "intercept", _NUM, where, path)
    for j, t in enumerate(_need(m, "terms", list, where, path)):
        tw = f"{where}.terms[{j}]"
        _one_of(_need(t, "source", str, tw, path), STUDY_TERM_SOURCES, f"{tw}.source:", path)
        tname = _need(t, "name", str, tw, path)
        for key in ("coef", "center", "scale", "impute"):
            _need(t, key, _NUM, tw, path)
        if not t["scale"] > 0:
            raise ModelFileError(f"{path}: {tw}.scale is {t['scale']}; it must be positive")
        if t["source"] == "clinical":
            _need(t, "column", str, tw, path)
        if t["source"] == "model" and tname not in earlier:
            raise ModelFileError(f"{path}: {tw} uses model {tname!r}, which no earlier model "
                                 "in the file defines")
    if m["kind"] == "learner":
        _one_of(_need(m, "learner", str, where, path), STUDY_LEARNERS, f"{where}.learner:", path)
        est = _need(m, "estimator", dict, where, path)
        verify_document(est, f"{path}: {where}.estimator")


def _check_estimator(doc: dict, path) -> None:
    """Every class an estimator document names is on the allow-list (checked before decoding)."""
    if "model" not in doc:
        raise ModelFileError(f"{path}: missing key 'model' (the encoded estimator)")
    allowed, stack = allowed_classes(), [doc["model"]]
    while stack:
        obj = stack.pop()
        if isinstance(obj, dict):
            name = obj.get("__object__")
            if name is not None and name not in allowed:
                raise ModelFileError(
                    f"{path}: model file names class {name!r}, which is not on radsig's "
                    "allow-list; the file was not written by this radsig version or was edited")
            stack.extend(obj.values())
        elif isinstance(obj, list):
            stack.extend(obj)


def _features(model) -> tuple[list[str] | None, list[str] | None]:
    inputs = getattr(model, "feature_names_in_", None)
    selected = getattr(model, "selected_features_", None)
    if selected is None and hasattr(model, "steps"):
        for _, step in reversed(model.steps):
            selected = getattr(step, "selected_features_", None)
            if selected is not None:
                break
    as_list = (lambda a: None if a is None else [str(v) for v in a])  # noqa: E731
    return as_list(inputs), as_list(selected)


def model_document(model, *, feature_settings_hash: str | None = None,
                   cutoffs: dict[str, float] | None = None,
                   metadata: dict[str, Any] | None = None) -> dict:
    """The JSON document :func:`save_model` writes, as a dict (to embed in another JSON file,
    e.g. a study's ``model.json``); :func:`model_from_document` reads it back."""
    import sklearn

    import radsig

    inputs, selected = _features(model)
    cutoffs = dict(cutoffs or {})
    if hasattr(model, "cutoff_"):
        cutoffs.setdefault("risk_group", float(model.cutoff_))
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "content": "estimator",
           "radsig_version": radsig.__version__, "sklearn_version": sklearn.__version__,
           "numpy_version": np.__version__,
           "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "feature_settings_hash": feature_settings_hash, "input_features": inputs,
           "selected_features": selected, "cutoffs": {str(k): encode(v) for k, v in cutoffs.items()},
           "metadata": {str(k): encode(v) for k, v in (metadata or {}).items()}, "model": encode(model)}
    doc["checksum"] = _checksum(doc)
    return doc


def save_model(model, path, *, feature_settings_hash: str | None = None,
               cutoffs: dict[str, float] | None = None,
               metadata: dict[str, Any] | None = None) -> Path:
    """Write a fitted model as versioned, checksummed JSON.

    Parameters
    ----------
    model : fitted estimator
        A radsig estimator or a scikit-learn Pipeline / ensemble made of allowed classes.
    path : str or Path
        Output file (conventionally ``*.json``); written atomically.
    feature_settings_hash : str, optional
        ``radsig.config.settings_hash`` of the feature-extraction settings the model expects.
    cutoffs : dict, optional
        Named thresholds (e.g. ``{"risk_group": 0.12}``); a fitted :class:`RiskGroups` stores its own.
    metadata : dict, optional
        Free JSON-serialisable provenance (study name, steps, cohort sizes…).

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ModelFileError
        When the model holds a class or value that cannot be stored as JSON.
    """
    doc = model_document(model, feature_settings_hash=feature_settings_hash, cutoffs=cutoffs,
                         metadata=metadata)
    path = Path(path)
    write_model_file(doc, path, content="estimator")
    return path


def load_model(path):
    """Load a model written by :func:`save_model`.

    Only JSON is parsed and only allow-listed classes are instantiated; no code from the file
    runs. Tree models need the scikit-learn version recorded in the file.

    Raises
    ------
    ModelFileError
        Not a radsig model file, unsupported ``format_version``, checksum mismatch (tampered or
        corrupted), a class outside the allow-list, or a tree model from another scikit-learn.
    """
    return model_from_document(read_model_file(path)[0], path)


def model_from_document(doc: dict, path="model document"):
    """Decode a verified model document (from :func:`model_document` / :func:`read_model_file`);
    same checks and allow-list as :func:`load_model`."""
    import sklearn

    doc = verify_document(doc, path)
    if has_tree(doc["model"]) and doc.get("sklearn_version") != sklearn.__version__:
        raise ModelFileError(
            f"{path}: this model holds decision trees saved with scikit-learn "
            f"{doc.get('sklearn_version')}, but {sklearn.__version__} is installed; install "
            "that version to load it")
    return decode(doc["model"])




def check_model_inputs(doc: dict, columns, *, feature_settings_hash: str | None = None,
                       path=None) -> None:
    """Check that a table and its extraction settings match what a model file expects.

    Parameters
    ----------
    doc : dict
        The verified file content from :func:`read_model_file`.
    columns : sequence of str
        Columns of the table to score.
    feature_settings_hash : str, optional
        Hash of the settings the table was extracted with; compared when both are known.

    Raises
    ------
    ModelFileError
        Missing input features, or features extracted with other settings.
    """
    where = f"{path}: " if path else ""
    expected = doc.get("input_features") or []
    missing = [c for c in expected if c not in set(map(str, columns))]
    if missing:
        raise ModelFileError(
            f"{where}the table lacks {len(missing)} of the {len(expected)} features the model "
            f"was trained on (e.g. {missing[:3]}); extract them with the model's settings")
    saved = doc.get("feature_settings_hash")
    if saved and feature_settings_hash and saved != feature_settings_hash:
        raise ModelFileError(
            f"{where}features were extracted with settings hash {feature_settings_hash}, but the "
            f"model expects {saved}; re-extract with the settings recorded for this model")
