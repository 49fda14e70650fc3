"""Fixtures of the serving tests: the session's demo run (shared with tests/study and tests/report),
a real ``radsig serve`` process on a free loopback port, HTTP helpers and ``radsig predict``'s
reference predictions for the external cohort."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("demo_runs", REPO / "tests" / "study" / "demo_runs.py")
demo_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_runs)

TOKEN = "test-token-" + uuid.uuid4().hex
MAX_MB = 2.0


def env() -> dict:
    e = dict(os.environ, MPLBACKEND="Agg")
    e["PYTHONPATH"] = str(REPO / "src") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def radsig(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "radsig", *map(str, args)], env=env(), capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``radsig serve`` in a subprocess on 127.0.0.1; stopped by :meth:`stop`."""

    def __init__(self, model: Path, *args, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "radsig", "serve", str(model), "--host", "127.0.0.1",
                                      "--port", str(self.port), *map(str, args)], env=env(),
                                     stdout=subprocess.DEVNULL, stderr=open(log, "w"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"radsig serve exited ({self.proc.returncode}): {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2):
                    return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"radsig serve did not answer within 120 s: {log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


def call(url: str, *, data: bytes | None = None, headers: dict | None = None, method: str | None = None,
         token: str | None = TOKEN, timeout: float = 120) -> tuple[int, dict, dict]:
    """(status, JSON body (or {"text": ...}), headers) of one HTTP request."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=h, method=method or ("POST" if data is not None else "GET"))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body, hdrs = resp.status, resp.read(), {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:
        status, body, hdrs = err.code, err.read(), {k.lower(): v for k, v in err.headers.items()}
    try:
        return status, json.loads(body), hdrs
    except ValueError:
        return status, {"text": body.decode("utf-8", "replace")}, hdrs


def post_json(url: str, obj, **kw):
    return call(url, data=json.dumps(obj).encode(), headers={"Content-Type": "application/json"}, **kw)


def multipart(fields: dict) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request; values: str or (filename, bytes)."""
    boundary = "radsig" + uuid.uuid4().hex
    out = []
    for name, val in fields.items():
        if isinstance(val, tuple):
            fn, data = val
            out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{fn}"\r\n'
                       "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        else:
            out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{val}\r\n'.encode())
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def post_images(url: str, fields: dict, **kw):
    body, ctype = multipart(fields)
    return call(url, data=body, headers={"Content-Type": ctype}, **kw)


def clinical_json(row: pd.Series, columns) -> dict:
    """A clinical table row as JSON values (numbers stay numbers, categories strings)."""
    out = {}
    for c in columns:
        v = row[c]
        out[c] = None if pd.isna(v) else (v.item() if hasattr(v, "item") else v)
    return out


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Output folder of ``radsig demo`` at its default size (shared within the session).
    ``RADSIG_TEST_DEMO_DIR`` names a finished demo run to reuse instead (while developing)."""
    if os.environ.get("RADSIG_TEST_DEMO_DIR"):
        return Path(os.environ["RADSIG_TEST_DEMO_DIR"])
    return demo_runs.full_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def model_path(demo_dir) -> Path:
    return demo_dir / "model.json"


@pytest.fixture(scope="session")
def server(model_path, tmp_path_factory):
    """The demo model served with a token, an audit log and a 2 MiB request limit."""
    d = tmp_path_factory.mktemp("serve")
    (d / "token").write_text(TOKEN + "\n")
    srv = Server(model_path, "--token-file", d / "token", "--audit-log", d / "audit.jsonl",
                 "--max-request-mb", MAX_MB, log=d / "server.log")
    srv.audit = d / "audit.jsonl"
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def external(demo_dir) -> dict:
    """The external cohort: manifest, clinical table (by patient ID)."""
    data = demo_dir / "data"
    man = pd.read_csv(data / "external_manifest.csv")
    clin = pd.read_csv(data / "external_clinical.csv")
    clin["patient_id"] = clin["patient_id"].astype(str)
    return {"data": data, "manifest": man, "clinical": clin.set_index("patient_id")}


@pytest.fixture(scope="session")
def predict_external(model_path, external, tmp_path_factory) -> pd.DataFrame:
    """``radsig predict`` (the CLI) on every external patient's images + clinical row."""
    out = tmp_path_factory.mktemp("predict") / "external_predictions.csv"
    res = radsig("predict", model_path, "--manifest", external["data"] / "external_manifest.csv",
                 "--clinical", external["data"] / "external_clinical.csv", "--out", out)
    assert res.returncode == 0, res.stderr[-2000:]
    table = pd.read_csv(out)
    table["patient_id"] = table["patient_id"].astype(str)
    return table.set_index("patient_id")


@pytest.fixture(scope="session")
def service_images(server, model_path, external) -> dict:
    """The service's response for every external patient, scored from the uploaded images."""
    doc = json.loads(model_path.read_text())
    man, clin = external["manifest"], external["clinical"]
    out = {}
    for pid, rows in man.groupby("patient_id", sort=True):
        fields = {}
        for rec in rows.to_dict("records"):
            for part in ("image", "mask"):
                p = external["data"] / rec[part]
                fields[f"{rec['modality']}_{part}"] = (p.name, p.read_bytes())
        fields["clinical"] = json.dumps(clinical_json(clin.loc[str(pid)], doc["clinical_columns"]))
        status, body, _ = post_images(server.url + "/v1/score", fields)
        assert status == 200, body
        out[str(pid)] = body
    return out


@pytest.fixture(scope="session")
def http():
    """The HTTP helpers of this file (tests import nothing from conftest under importlib mode)."""
    from types import SimpleNamespace

    return SimpleNamespace(call=call, post_json=post_json, post_images=post_images, clinical_json=clinical_json,
                           radsig=radsig, post_oversize=post_oversize, multipart=multipart, MAX_MB=MAX_MB, TOKEN=TOKEN, Server=Server)


def post_oversize(url: str, body: bytes, ctype: str, token: str = TOKEN) -> tuple[int, dict]:
    """POST a body the server refuses before reading it all: the server may answer 413 and close
    while the body is still being sent, so a broken pipe while sending is expected; the answer is
    read afterwards."""
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.putrequest("POST", u.path)
        for k, v in {"Content-Type": ctype, "Content-Length": str(len(body)), "Authorization": f"Bearer {token}"}.items():
            conn.putheader(k, v)
        conn.endheaders()
        try:
            for i in range(0, len(body), 65536):
                conn.send(body[i:i + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()
