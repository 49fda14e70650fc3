"""Model files: versioned, checksummed JSON. Never pickle; loading never executes code.

A model file is one JSON object::

    {"format": "radsig-model", "format_version": 1, "radsig_version": "...",
     "sklearn_version": "...", "created": "...", "feature_settings_hash": "...",
     "input_features": [...], "selected_features": [...], "cutoffs": {...},
     "metadata": {...}, "model": <encoded estimator>, "checksum": "sha256:..."}

Estimators are encoded as their class name (looked up in a fixed allow-list; anything else is
refused) and their instance attributes, each restricted to JSON numbers, strings, lists, dicts,
NumPy arrays (stored as dtype + shape + flat list) and nested allowed estimators. Decision
trees (random forest, gradient boosting) are stored as the node arrays of scikit-learn's
``tree_`` object; loading a tree model therefore requires the same scikit-learn version that
wrote it, and a different version is refused with :class:`~radsig.exceptions.ModelFileError`.

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
import pandas as pd

from radsig.exceptions import ModelFileError

FORMAT = "radsig-model"
FORMAT_VERSION = 1
_FLOAT_DTYPES = {"float64", "float32"}
_INT_DTYPES = {"int64", "int32", "int8", "uint8", "intp", "uint32", "uint64"}


def _allowed() -> dict[str, type]:
    """The only classes a model file may name (class path → class)."""
    from sklearn.calibration import (
        CalibratedClassifierCV,
        _CalibratedClassifier,
        _SigmoidCalibration,
    )
    from sklearn.decomposition import PCA
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        RandomForestClassifier,
        StackingClassifier,
        VotingClassifier,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import LabelEncoder, StandardScaler
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
    from sklearn.utils import Bunch

    from radsig import harmonize, models, select

    classes = [CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration, PCA,
               DummyClassifier, GradientBoostingClassifier, RandomForestClassifier,
               StackingClassifier, VotingClassifier, SimpleImputer, LogisticRegression, Pipeline,
               LabelEncoder, StandardScaler, SVC, DecisionTreeClassifier, DecisionTreeRegressor,
               Bunch]
    for mod in (select, harmonize, models):
        classes += [getattr(mod, n) for n in getattr(mod, "__all__", [])
                    if isinstance(getattr(mod, n), type)]
    return {f"{c.__module__}.{c.__qualname__}": c for c in classes}


# attributes that are rebuilt after loading rather than stored (class name → {attr: rebuild})
def _rebuild_gb_loss(est):
    return est._get_loss(sample_weight=None)


_SKIP = {"GradientBoostingClassifier": {"_loss": _rebuild_gb_loss, "_rng": None},
         "RandomForestClassifier": {"_sample_weight": None}}


# ---------------------------------------------------------------- encoding
def _encode_array(a: np.ndarray) -> dict:
    kind = a.dtype.kind
    if kind == "f":
        flat = [float(v) if np.isfinite(v) else str(v) for v in a.ravel().tolist()]
        dtype = "float64"
    elif kind in "iu":
        flat, dtype = [int(v) for v in a.ravel().tolist()], str(a.dtype)
    elif kind == "b":
        flat, dtype = [bool(v) for v in a.ravel().tolist()], "bool"
    elif kind in "OUS" and all(isinstance(v, str) for v in a.ravel().tolist()):
        flat, dtype = a.ravel().tolist(), "str"
    elif kind == "O":
        return {"__objarray__": [_encode(v) for v in a.ravel().tolist()], "shape": list(a.shape)}
    else:
        raise ModelFileError(f"cannot store an array of dtype {a.dtype} in a model file")
    return {"__ndarray__": flat, "dtype": dtype, "shape": list(a.shape)}


def _encode_tree(tree) -> dict:
    state = tree.__getstate__()
    nodes = state["nodes"]
    return {"__tree__": {
        "n_features": int(tree.n_features), "n_classes": _encode_array(np.asarray(tree.n_classes)),
        "n_outputs": int(tree.n_outputs), "max_depth": int(state["max_depth"]),
        "node_count": int(state["node_count"]),
        "nodes": {f: _encode_array(np.asarray(nodes[f])) for f in nodes.dtype.names},
        "values": _encode_array(np.asarray(state["values"]))}}


_NOT_SCALAR = object()


def _encode_scalar(obj: Any) -> Any:
    """JSON form of a scalar-like value, or ``_NOT_SCALAR``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else {"__float__": str(float(obj))}
    if isinstance(obj, np.dtype):
        if obj.kind not in "fiub":
            raise ModelFileError(f"cannot store dtype {obj} in a model file")
        return {"__dtype__": obj.str}
    if isinstance(obj, (np.random.RandomState, np.random.Generator)):
        return None  # only fitting uses it; a loaded model is not refitted with the same stream
    return _NOT_SCALAR


def _encode(obj: Any) -> Any:
    from sklearn.tree._tree import Tree

    scalar = _encode_scalar(obj)
    if scalar is not _NOT_SCALAR:
        return scalar
    if isinstance(obj, np.ndarray):
        return _encode_array(obj)
    if isinstance(obj, Tree):
        return _encode_tree(obj)
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v) for v in obj]}
    if isinstance(obj, pd.DataFrame):
        return {"__dataframe__": {"columns": [_encode(c) for c in obj.columns],
                                  "data": [_encode(obj[c].to_numpy()) for c in obj.columns]}}
    if isinstance(obj, list):
        return [_encode(v) for v in obj]
    if type(obj) is dict:
        if not all(isinstance(k, str) for k in obj):
            raise ModelFileError("cannot store a dict with non-string keys in a model file")
        return {"__dict__": {k: _encode(v) for k, v in obj.items()}}
    return _encode_object(obj)


def _encode_object(obj: Any) -> dict:
    name = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if name not in _allowed():
        raise ModelFileError(
            f"cannot save a {type(obj).__qualname__} in a radsig model file: only the classes "
            "listed in radsig.models.serialize._allowed() can be stored as JSON; use one of them")
    skip = _SKIP.get(type(obj).__name__, {})
    state = {k: _encode(v) for k, v in vars(obj).items() if k not in skip}
    items = None
    if isinstance(obj, dict):  # Bunch
        items = {k: _encode(v) for k, v in obj.items()}
    rebuilt = [k for k in vars(obj) if k in skip]
    return {"__object__": name, "state": state, "items": items, "rebuilt": rebuilt}


# ---------------------------------------------------------------- decoding
def _decode_array(d: dict) -> np.ndarray:
    dtype = d["dtype"]
    if dtype in _FLOAT_DTYPES:
        arr = np.array([float(v) for v in d["__ndarray__"]], dtype=float)
    elif dtype in _INT_DTYPES or dtype == "bool":
        arr = np.array(d["__ndarray__"], dtype=np.dtype(dtype))
    elif dtype == "str":
        arr = np.array(d["__ndarray__"], dtype=object)
    else:
        raise ModelFileError(f"model file holds an array of unsupported dtype {dtype!r}")
    return arr.reshape(d["shape"])


def _decode_tree(d: dict):
    from sklearn.tree._tree import NODE_DTYPE, Tree

    fields = d["nodes"]
    if set(fields) != set(NODE_DTYPE.names):
        raise ModelFileError(
            "the decision-tree node layout in this model file does not match the installed "
            f"scikit-learn (file fields {sorted(fields)}, installed {sorted(NODE_DTYPE.names)}); "
            "load it with the scikit-learn version recorded in the file")
    nodes = np.zeros(d["node_count"], dtype=NODE_DTYPE)
    for f in NODE_DTYPE.names:
        nodes[f] = _decode_array(fields[f])
    n_classes = _decode_array(d["n_classes"]).astype(np.intp)
    tree = Tree(d["n_features"], n_classes, d["n_outputs"])
    tree.__setstate__({"max_depth": d["max_depth"], "node_count": d["node_count"],
                       "nodes": nodes, "values": np.ascontiguousarray(_decode_array(d["values"]))})
    return tree


def _decode_objarray(obj: dict) -> np.ndarray:
    flat = [_decode(v) for v in obj["__objarray__"]]
    arr = np.empty(len(flat), dtype=object)
    arr[:] = flat
    return arr.reshape(obj["shape"])


def _decode_dtype(obj: dict) -> np.dtype:
    kind = np.dtype(str(obj["__dtype__"]))
    if kind.kind not in "fiub":
        raise ModelFileError(f"model file holds unsupported dtype {obj['__dtype__']!r}")
    return kind


def _decode_dataframe(obj: dict) -> pd.DataFrame:
    cols = [_decode(c) for c in obj["__dataframe__"]["columns"]]
    data = [_decode(v) for v in obj["__dataframe__"]["data"]]
    return pd.DataFrame(dict(zip(cols, data, strict=True)), columns=cols)


_DECODERS = {
    "__ndarray__": _decode_array,
    "__objarray__": _decode_objarray,
    "__dtype__": _decode_dtype,
    "__float__": lambda o: float(o["__float__"]),
    "__dataframe__": _decode_dataframe,
    "__tuple__": lambda o: tuple(_decode(v) for v in o["__tuple__"]),
    "__dict__": lambda o: {k: _decode(v) for k, v in o["__dict__"].items()},
    "__tree__": lambda o: _decode_tree(o["__tree__"]),
    "__object__": lambda o: _decode_object(o),
}


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    for marker, decoder in _DECODERS.items():
        if marker in obj:
            return decoder(obj)
    raise ModelFileError(f"model file holds an unknown value with keys {sorted(obj)[:5]}")


def _decode_object(d: dict) -> Any:
    cls = _allowed().get(d["__object__"])
    if cls is None:
        raise ModelFileError(
            f"model file names class {d['__object__']!r}, which is not on radsig's allow-list; "
            "the file was not written by this radsig version or was edited")
    obj = cls.__new__(cls)
    if d.get("items") is not None:
        obj.update({k: _decode(v) for k, v in d["items"].items()})
    obj.__dict__.update({k: _decode(v) for k, v in d["state"].items()})
    skip = _SKIP.get(cls.__name__, {})
    for attr in d.get("rebuilt", []):
        if attr in skip:
            setattr(obj, attr, skip[attr](obj) if skip[attr] else None)
    return obj


# ---------------------------------------------------------------- public API
def _checksum(doc: dict) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION,
           "radsig_version": radsig.__version__, "sklearn_version": sklearn.__version__,
           "numpy_version": np.__version__,
           "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "feature_settings_hash": feature_settings_hash, "input_features": inputs,
           "selected_features": selected, "cutoffs": {str(k): _encode(v) for k, v in cutoffs.items()},
           "metadata": {str(k): _encode(v) for k, v in (metadata or {}).items()}, "model": _encode(model)}
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
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return path


def read_model_file(path) -> dict:
    """Read and verify a model file's JSON (format, version, checksum) without decoding it."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{path}: not a readable radsig model file ({err}); "
                             "expected JSON written by radsig.models.save_model") from err
    return verify_document(doc, path)


def verify_document(doc, path) -> dict:
    """Check a model document's format, version and checksum (*path* names it in messages)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a radsig model file (missing format={FORMAT!r}); "
                             "expected a file written by radsig.models.save_model")
    if doc.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model file format_version {doc.get('format_version')!r} is not supported "
            f"by this radsig (reads version {FORMAT_VERSION}; file written by radsig "
            f"{doc.get('radsig_version')}); re-save the model with this radsig version")
    if doc.get("checksum") != _checksum(doc):
        raise ModelFileError(f"{path}: checksum mismatch: the model file was modified or "
                             "corrupted after it was saved; re-export it from the study")
    return doc


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
    return model_from_document(read_model_file(path), path)


def model_from_document(doc: dict, path="model document"):
    """Decode a verified model document (from :func:`model_document` / :func:`read_model_file`);
    same checks and allow-list as :func:`load_model`."""
    import sklearn

    doc = verify_document(doc, path)
    if _has_tree(doc["model"]) and doc.get("sklearn_version") != sklearn.__version__:
        raise ModelFileError(
            f"{path}: this model holds decision trees saved with scikit-learn "
            f"{doc.get('sklearn_version')}, but {sklearn.__version__} is installed; install "
            "that version to load it")
    return _decode(doc["model"])


def _has_tree(obj) -> bool:
    if isinstance(obj, dict):
        return "__tree__" in obj or any(_has_tree(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_tree(v) for v in obj)
    return False


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
