"""``radsig serve``: the HTTP scoring service (FastAPI app, run by uvicorn).

Routes: ``GET /`` (the web nomogram), ``GET /healthz``, ``GET /v1/model`` (model card as JSON),
``POST /v1/score`` (one patient: JSON features + clinical, or multipart NIfTI image + mask per
modality), ``POST /v1/score/batch`` (CSV or a JSON list). Errors are JSON
``{"error": ..., "detail": [{"field", "message"}, ...]}`` with 401 (no / wrong bearer token),
413 (request larger than the limit), 415 (content type), 422 (inputs).

No CORS headers are sent (browsers on other origins cannot call it); nothing in the model file is
executed; an optional append-only audit log (JSON lines) records time, model checksum, a SHA-256
of the request body and the output — patient values only with ``audit_values``.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import os
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

from radsig._optional import require
from radsig.exceptions import RadsigError
from radsig.serve.scoring import CI_METHOD, InputError, ServedModel

# module level: the routes' annotations are resolved here; a core install without the serve
# extra gets the one-line error naming pip install "radsig[serve]"
Request = require("fastapi", "serve").Request

MAX_REQUEST_MB = 64.0
NIFTI_SUFFIXES = (".nii.gz", ".nii")


class AuditLog:
    """Append-only JSON lines; one line per scoring request, written under a lock."""

    def __init__(self, path: str | Path, values: bool = False):
        self.path, self.values, self._lock = Path(path), values, threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record) -> None:
        line = json.dumps({"time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **record},
                          separators=(",", ":"), allow_nan=False, default=str)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
            finally:
                os.close(fd)


def _error(status: int, error: str, detail: list[dict] | None = None, headers: dict | None = None):
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": error, "detail": detail or []}, status_code=status, headers=headers)


class _Guard:
    """ASGI middleware: bearer token on ``/v1/*`` (401) and the request size limit (413). The body is
    read here (up to the limit) and replayed to the app, so an oversize upload is refused before
    any parsing, whether it declares its length or is chunked."""

    def __init__(self, app, token: str | None, max_bytes: int):
        self.app, self.token, self.max_bytes = app, token, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.token and scope["path"].startswith("/v1/"):
            auth = headers.get("authorization", "")
            given = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
            if not given or not hmac.compare_digest(given.encode(), self.token.encode()):
                msg = "missing bearer token" if not given else "wrong bearer token"
                resp = _error(401, "unauthorized", [{"field": "Authorization", "message":
                                                      f"{msg}: send 'Authorization: Bearer <token>'"}],
                              {"WWW-Authenticate": "Bearer"})
                return await resp(scope, receive, send)
        too_big = _error(413, "request too large", [{"field": "body", "message":
                         f"the request body exceeds the limit of {self.max_bytes / 2**20:g} MiB"}])
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            return await too_big(scope, receive, send)
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            body = msg.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                return await too_big(scope, receive, send)
            chunks.append(body)
            if not msg.get("more_body"):
                break
        data, sent = b"".join(chunks), False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}

        scope.setdefault("state", {})["body_sha256"] = hashlib.sha256(data).hexdigest()
        return await self.app(scope, replay, send)


def create_app(model_path: str | Path, *, token: str | None = None, audit_log: str | Path | None = None,
               audit_values: bool = False, max_request_mb: float = MAX_REQUEST_MB):
    """The ASGI application serving *model_path*."""
    from fastapi import FastAPI
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import HTMLResponse, JSONResponse

    from radsig.serve.card import model_card
    from radsig.serve.page import render_page

    sm = ServedModel.load(model_path)
    _warm_up(sm)
    audit = AuditLog(audit_log, audit_values) if audit_log else None
    card = model_card(sm)
    page = render_page(sm, served=True)
    app = FastAPI(title=f"radsig serve: {sm.name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_Guard, token=token, max_bytes=int(max_request_mb * 2**20))

    def _log(request: Request, endpoint: str, status: int, output=None, inputs=None) -> None:
        if audit is None:
            return
        rec = {"endpoint": endpoint, "model_checksum": sm.checksum, "model_version": sm.version,
               "input_sha256": request.scope.get("state", {}).get("body_sha256"), "status": status,
               "output": output}
        if audit.values and inputs is not None:
            rec["input"] = inputs
        audit.write(**rec)

    def _refuse(request: Request, endpoint: str, err: InputError):
        _log(request, endpoint, 422, output={"refused_fields": [e["field"] for e in err.errors]})
        return _error(422, "invalid input", err.errors)

    def _response(results: list[dict], single: bool):
        from fastapi.responses import Response

        head = {"model": sm.identity(), "ci": {"level": 0.95, "method": CI_METHOD}}
        body = {**head, **results[0]} if single else {**head, "results": results}
        return Response(json.dumps(body, allow_nan=False, separators=(",", ":")), media_type="application/json")

    batcher = _Batcher(sm)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok", "model": sm.identity()}

    @app.get("/", response_class=HTMLResponse)
    async def index():
        return HTMLResponse(page, headers={"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff"})

    @app.get("/v1/model")
    async def model():
        return JSONResponse(card)

    @app.post("/v1/score")
    async def score(request: Request):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if ctype == "multipart/form-data":
                form = await request.form(max_files=16, max_fields=64)
                rec, inputs = await run_in_threadpool(_image_record, sm, form)
            elif ctype in ("application/json", ""):
                body = _json_body(await request.body())
                sm.check_pin(body.get("model") if isinstance(body, dict) else None)
                rec, inputs = sm.parse_record(body), body
            else:
                return _error(415, "unsupported content type", [{"field": "Content-Type", "message":
                              f"{ctype!r}: send application/json or multipart/form-data"}])
        except InputError as err:
            return _refuse(request, "score", err)
        res = [await batcher.score(rec)]
        if ctype == "multipart/form-data":
            res[0]["features"] = inputs["features"]  # as extracted (null: not produced, imputed)
        _log(request, "score", 200, {"predictions": res[0]["predictions"], "warnings": res[0]["warnings"]}, inputs)
        return _response(res, single=True)

    @app.post("/v1/score/batch")
    async def batch(request: Request):
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        try:
            if ctype in ("text/csv", "application/csv"):
                ids, recs = _csv_records(sm, raw)
                inputs = None
            elif ctype in ("application/json", ""):
                body = _json_body(raw)
                if isinstance(body, dict) and "records" in body:
                    sm.check_pin(body.get("model"))
                    body = body["records"]
                if not isinstance(body, list):
                    raise InputError([{"field": "body", "message": "expected a JSON list of records "
                                       f"(or {{'records': [...]}}), got {type(body).__name__}"}])
                recs, ids, errs = [], [], []
                for i, item in enumerate(body):
                    try:
                        recs.append(sm.parse_record(item, where=f"[{i}]"))
                        ids.append(item.get("id", i) if isinstance(item, dict) else i)
                    except InputError as err:
                        errs += err.errors
                if errs:
                    raise InputError(errs)
                inputs = body
            else:
                return _error(415, "unsupported content type", [{"field": "Content-Type", "message":
                              f"{ctype!r}: send text/csv or application/json"}])
        except InputError as err:
            return _refuse(request, "score/batch", err)
        res = await run_in_threadpool(sm.score, recs) if recs else []
        for i, r in zip(ids, res, strict=True):
            r["id"] = i
        _log(request, "score/batch", 200, [{"id": r["id"], "predictions": r["predictions"]} for r in res], inputs)
        return _response(res, single=False)

    return app


class _Batcher:
    """Scores concurrent single-patient requests together: while one group is being scored (in a
    worker thread), requests that arrive queue up and are scored next as one frame — the same code
    as one at a time (elementwise), with the per-call overhead of the data frames shared. Adds no
    wait when requests come one by one."""

    def __init__(self, sm: ServedModel):
        self.sm, self.pending, self.running = sm, [], False

    async def score(self, rec: tuple[dict, dict]) -> dict:
        import asyncio

        fut = asyncio.get_running_loop().create_future()
        self.pending.append((rec, fut))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await fut

    async def _drain(self) -> None:
        from fastapi.concurrency import run_in_threadpool

        try:
            while self.pending:
                batch, self.pending = self.pending, []
                try:
                    results = await run_in_threadpool(self.sm.score, [r for r, _ in batch])
                except Exception as err:  # noqa: BLE001 (handed to each waiting request)
                    for _, fut in batch:
                        fut.set_exception(err)
                    continue
                for (_, fut), res in zip(batch, results, strict=True):
                    fut.set_result(res)
        finally:
            self.running = False


def _warm_up(sm: ServedModel) -> None:
    """Import the extraction code now, so the first image request does not pay for it."""
    import importlib

    names = ["radsig.study.predict", "radsig.study.extraction"]
    if sm.doc["feature_settings"]["extractor"] == "radsig.features":
        names += ["radsig.features", "radsig.config"]
    if sm.doc.get("extra_features"):
        names += ["radsig.study.extra_features"]
        names += ["radsig.deep"] if "deep" in sm.doc["extra_features"] else []
        names += ["radsig.habitat"] if "habitat" in sm.doc["extra_features"] else []
    for n in names:
        try:
            importlib.import_module(n)
        except ImportError:  # an optional family (torch) missing: image requests will say so
            pass


#: the page runs only its own inline script and styles; it loads nothing from anywhere
_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
        "connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")


def _json_body(raw: bytes):
    if not raw.strip():
        raise InputError([{"field": "body", "message": "empty body: send a JSON object"}])
    try:
        return json.loads(raw, parse_constant=lambda c: float("nan"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        where = f" (line {err.lineno}, column {err.colno})" if isinstance(err, json.JSONDecodeError) else ""
        raise InputError([{"field": "body", "message": f"malformed JSON{where}: {err}"}]) from None


def _csv_records(sm: ServedModel, raw: bytes) -> tuple[list, list[tuple[dict, dict]]]:
    import pandas as pd

    try:
        df = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError([{"field": "body", "message": f"malformed CSV: {err}"}]) from None
    idc = sm.doc["id_column"]
    clin_cols = [c for c in df.columns if c in sm.doc["clinical_columns"]]
    mods = tuple(f"{m}_" for m in sm.doc["modalities"])
    # features: the model's feature names and any modality-prefixed column; other columns
    # (outcomes, centre, …) are not inputs
    feat_cols = [c for c in df.columns if c != idc and c not in clin_cols
                 and (c in sm.features or str(c).startswith(mods))]
    recs, errs = [], []
    for i, row in enumerate(df.to_dict("records")):
        item = {"features": {c: _cell(row[c], numeric=True) for c in feat_cols},
                "clinical": {c: _cell(row[c], numeric=c in sm.numeric_clinical) for c in clin_cols}}
        for part in ("features", "clinical"):
            for k, v in item[part].items():
                if isinstance(v, _Bad):
                    errs.append({"field": f"row {i + 1}: {part}.{k}", "message":
                                 f"expected a number or an empty cell, got {v.text[:40]!r}"})
                    item[part][k] = None
        try:
            recs.append(sm.parse_record(item, where=f"row {i + 1}"))
        except InputError as err:
            errs += err.errors
    if errs:
        raise InputError(errs)
    ids = df[idc].tolist() if idc in df.columns else list(range(len(df)))
    return ids, recs


class _Bad:
    def __init__(self, text: str):
        self.text = text


def _cell(text: str, numeric: bool):
    text = text.strip()
    if text == "" or text.upper() in ("NA", "NAN", "NULL"):
        return None
    if not numeric:
        return text
    try:
        return float(text)
    except ValueError:
        return _Bad(text)


#: largest image accepted once decompressed (a small .nii.gz can inflate to gigabytes)
MAX_INFLATED_BYTES = 2 * 2**30


def _inflate(data: bytes, limit: int = MAX_INFLATED_BYTES) -> bytes:
    """*data* decompressed when gzipped (every member), refusing more than *limit* bytes."""
    import zlib

    if data[:2] != b"\x1f\x8b":
        return data
    out, rest = [], data
    try:
        while rest[:2] == b"\x1f\x8b":
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out.append(d.decompress(rest, limit + 1 - sum(map(len, out))))
            if sum(map(len, out)) > limit or d.unconsumed_tail:
                raise ValueError(f"larger than {limit / 2**30:g} GiB once decompressed")
            if not d.eof:
                raise ValueError("truncated gzip data")
            rest = d.unused_data
    except zlib.error as err:
        raise ValueError(f"corrupt gzip data ({err})") from None
    return b"".join(out)


def _is_nifti(data: bytes) -> bool:
    return len(data) >= 4 and int.from_bytes(data[:4], "little") in (348, 540) or \
        len(data) >= 4 and int.from_bytes(data[:4], "big") in (348, 540)


def _image_record(sm: ServedModel, form) -> tuple[tuple[dict, dict], dict | None]:
    """Multipart form → (features, clinical): NIfTI image + mask per modality, extracted with the
    model's frozen settings by the code ``radsig predict`` runs."""
    import pandas as pd

    from radsig.study.predict import extract_features

    mods = sm.doc["modalities"]
    errs, files, clinical, pin = [], {}, {}, None
    for key, val in form.multi_items():
        if key == "clinical":
            try:
                clinical = json.loads(val if isinstance(val, str) else "")
            except json.JSONDecodeError as err:
                errs.append({"field": "clinical", "message": f"malformed JSON: {err}"})
            continue
        if key == "model":
            pin = val
            continue
        mod, _, part = key.rpartition("_")
        if part not in ("image", "mask") or not mod:
            errs.append({"field": key, "message": "unknown form field; expected <MODALITY>_image, "
                         "<MODALITY>_mask (e.g. CT_image, CT_mask) and optionally clinical (JSON)"})
            continue
        if mod.upper() not in mods:
            errs.append({"field": key, "message": f"wrong modality {mod!r}: the model uses {', '.join(mods)}"})
            continue
        if isinstance(val, str):
            errs.append({"field": key, "message": "expected an uploaded NIfTI file, got a text field"})
            continue
        try:  # stored uncompressed: inflated once here, not by each extractor that reads it
            data = _inflate(val.file.read())
        except ValueError as err:
            errs.append({"field": key, "message": f"{val.filename!r}: {err}"})
            continue
        if not _is_nifti(data):
            errs.append({"field": key, "message": f"{val.filename!r} is not a NIfTI file (.nii or .nii.gz)"})
            continue
        files[(mod.upper(), part)] = (data, ".nii")
    given = sorted({m for m, _ in files})
    named = {e["field"] for e in errs}
    for m in given:
        for part in ("image", "mask"):
            if (m, part) not in files and f"{m}_{part}" not in named:
                errs.append({"field": f"{m}_{part}", "message": f"missing: modality {m} needs an image and a mask"})
    if not given and not errs:
        errs.append({"field": f"{mods[0]}_image", "message": "no image uploaded: send <MODALITY>_image and "
                     f"<MODALITY>_mask for modality {', '.join(mods)}"})
    if pin is not None:
        try:
            sm.check_pin(json.loads(pin) if isinstance(pin, str) else pin)
        except json.JSONDecodeError as err:
            errs.append({"field": "model", "message": f"malformed JSON: {err}"})
        except InputError as err:
            errs += err.errors
    if errs:
        raise InputError(errs)
    if not isinstance(clinical, dict):
        raise InputError([{"field": "clinical", "message": f"expected a JSON object, got {type(clinical).__name__}"}])
    idc = sm.doc["id_column"]
    with tempfile.TemporaryDirectory(prefix="radsig-serve-") as tmp:
        rows = []
        for m in given:
            paths = {}
            for part in ("image", "mask"):
                data, suffix = files[(m, part)]
                paths[part] = Path(tmp) / f"{m}_{part}{suffix}"
                paths[part].write_bytes(data)
            rows.append({idc: "case", "modality": m, "image": str(paths["image"]), "mask": str(paths["mask"])})
        try:
            feats = extract_features(sm.doc, pd.DataFrame(rows), sm.path.parent)
        except RadsigError as err:
            raise InputError([{"field": f"{given[0]}_image", "message": f"feature extraction failed: {err}"}]) from None
    row = feats.iloc[0] if len(feats) else pd.Series(dtype=float)
    prefixes = tuple(f"{m}_" for m in given)
    # every model feature of an uploaded modality: a family that produced nothing for this case
    # (e.g. a habitat absent from the tumour) is missing, imputed as radsig predict imputes it
    features = {k: float(row[k]) if k in row.index and math.isfinite(row[k]) else None
                for k in sm.features if k.startswith(prefixes)}
    rec = sm.parse_record({"features": features, "clinical": clinical})
    return rec, {"clinical": clinical, "features": features}


def _factory():
    """uvicorn's app factory for worker processes (settings passed in the environment)."""
    cfg = json.loads(os.environ["RADSIG_SERVE_CONFIG"])
    return create_app(cfg.pop("model"), **cfg)


def run(model_path: str | Path, *, host: str = "127.0.0.1", port: int = 8000, token: str | None = None,
        audit_log: str | Path | None = None, audit_values: bool = False,
        max_request_mb: float = MAX_REQUEST_MB, workers: int = 1) -> None:
    """Start uvicorn serving *model_path* (blocks until stopped)."""
    import uvicorn

    ServedModel.load(model_path)  # a bad model file fails here, one line, before the server starts
    kw = {"token": token, "audit_log": str(audit_log) if audit_log else None, "audit_values": audit_values,
          "max_request_mb": max_request_mb}
    if workers > 1:
        os.environ["RADSIG_SERVE_CONFIG"] = json.dumps({"model": str(model_path), **kw})
        uvicorn.run("radsig.serve.app:_factory", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", access_log=False)
    else:
        uvicorn.run(create_app(model_path, **kw), host=host, port=port, log_level="warning", access_log=False)
