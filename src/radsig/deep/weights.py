"""Saving and loading network weights as data: NPZ arrays + a JSON sidecar, never pickle.

radsig writes ``<name>.npz`` (one array per state-dict entry, loaded with
``allow_pickle=False``) and ``<name>.json`` (backbone config, crop spec, training record,
SHA-256 of the NPZ). User weights may also come as a PyTorch state dict (read with
``torch.load(weights_only=True)``, which refuses arbitrary objects) or a TorchScript file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from radsig import __version__
from radsig._optional import require
from radsig._typing import PathLike
from radsig.deep.backbones import Backbone, build_backbone
from radsig.deep.crops import CropSpec
from radsig.exceptions import ModelFileError

torch = require("torch", "deep")

FORMAT = "radsig-deep-weights"
FORMAT_VERSION = 1


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_weights(model: Backbone, spec: CropSpec, path: PathLike, *, record: dict | None = None) -> Path:
    """Write ``path`` (.npz) and its ``.json`` sidecar; returns the JSON path."""
    path = Path(path).with_suffix(".npz")
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    np.savez(path, **arrays)
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "radsig_version": __version__,
            "backbone": model.config, "crop": spec.to_dict(), "record": record or {},
            "sha256": _sha256(path)}
    side = path.with_suffix(".json")
    side.write_text(json.dumps(meta, indent=2))
    return side


def load_weights(path: PathLike) -> tuple[Backbone, CropSpec, dict]:
    """Load radsig NPZ weights through their JSON sidecar (checksum and shapes verified)."""
    side = Path(path).with_suffix(".json")
    npz = side.with_suffix(".npz")
    if not side.is_file() or not npz.is_file():
        raise ModelFileError(f"{side}: deep weights need both {side.name} and {npz.name}")
    meta = json.loads(side.read_text())
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(f"{side}: not radsig deep weights of format version {FORMAT_VERSION}")
    if _sha256(npz) != meta.get("sha256"):
        raise ModelFileError(f"{npz}: checksum does not match its sidecar (file changed or tampered with)")
    model = build_backbone(meta["backbone"])
    with np.load(npz, allow_pickle=False) as data:
        state = {k: torch.from_numpy(data[k]) for k in data.files}
    _load_state(model, state, str(npz))
    crop = meta["crop"]
    crop["window"] = tuple(crop["window"])
    return model.eval(), CropSpec(**crop), meta


def _load_state(model: Backbone, state: dict, origin: str) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)]
    if missing or extra or wrong:
        detail = []
        if missing:
            detail.append(f"missing {missing[:3]}")
        if extra:
            detail.append(f"unexpected {extra[:3]}")
        if wrong:
            detail.append("shape of " + ", ".join(
                f"{k} {tuple(state[k].shape)} vs expected {tuple(own[k].shape)}" for k in wrong[:3]))
        raise ModelFileError(f"{origin}: weights do not fit the backbone {model.config} ("
                             + "; ".join(detail) + "); give the architecture the weights were trained with")
    model.load_state_dict(state)


def load_user_weights(path: PathLike, backbone: dict, spec: CropSpec) -> tuple[torch.nn.Module, CropSpec, dict]:
    """Weights a user supplies: a state dict (.pt/.pth) for the named *backbone*, or TorchScript.

    The expected architecture (*backbone* config) and input spec are recorded in the returned
    metadata; a state dict of another architecture raises :class:`ModelFileError`.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: weights file not found")
    meta = {"source": str(path), "sha256": _sha256(path), "backbone": backbone, "crop": spec.to_dict()}
    try:
        scripted = torch.jit.load(str(path), map_location="cpu")
        meta["kind"] = "torchscript"
        return scripted.eval(), spec, meta
    except (RuntimeError, ValueError):
        pass
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any failure means "not usable weights"
        raise ModelFileError(f"{path}: not a TorchScript file nor a plain state dict ({err})") from err
    if not isinstance(state, dict):
        raise ModelFileError(f"{path}: expected a state dict (mapping of tensor names to tensors)")
    model = build_backbone(backbone)
    _load_state(model, state, str(path))
    meta["kind"] = "state_dict"
    return model.eval(), spec, meta
