"""Estimators to and from JSON data (the ``model`` of a radsig model file; never pickle).

An estimator is encoded as its class path, looked up in a fixed allow-list (:func:`allowed_classes`;
anything else is refused) and its instance attributes, each restricted to JSON numbers, strings,
lists, dicts, NumPy arrays (dtype + shape + flat list) and nested allowed estimators. Decision trees
are stored as the node arrays of scikit-learn's ``tree_`` object. Decoding builds the objects from
that data only: no code is executed. The file around it (header, checksum, schema checks) is
:mod:`radsig.models.serialize`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from radsig.exceptions import ModelFileError

__all__ = ["allowed_classes", "encode", "decode", "has_tree"]

_FLOAT_DTYPES = {"float64", "float32"}
_INT_DTYPES = {"int64", "int32", "int8", "uint8", "intp", "uint32", "uint64"}


def allowed_classes() -> dict[str, type]:
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
    if name not in allowed_classes():
        raise ModelFileError(
            f"cannot save a {type(obj).__qualname__} in a radsig model file: only the classes "
            "listed in radsig.models.serialize.allowed_classes() can be stored as JSON; use one of them")
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
    cls = allowed_classes().get(d["__object__"])
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


def encode(obj: Any) -> Any:
    """*obj* (an allowed estimator, array, number, ...) as JSON data."""
    return _encode(obj)


def decode(obj: Any) -> Any:
    """The object encoded by :func:`encode` (classes from the allow-list only)."""
    return _decode(obj)


def has_tree(obj) -> bool:
    """Whether encoded data holds a decision tree (scikit-learn-version bound)."""
    if isinstance(obj, dict):
        return "__tree__" in obj or any(has_tree(v) for v in obj.values())
    if isinstance(obj, list):
        return any(has_tree(v) for v in obj)
    return False
