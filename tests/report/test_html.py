"""report.html: self-contained, structurally valid, every section filled, renders in Chromium."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from radsig.study.render import SECTIONS

pytestmark = pytest.mark.xdist_group(name="demo")  # reads the session's demo run

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Checker(HTMLParser):
    """Strict structure check: every non-void element closed in order, ids unique, local links resolve."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.sections: dict[str, dict] = {}
        self._current: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "section":
            self._current = a.get("id")
            self.sections[self._current] = {"rows": 0, "imgs": 0, "text": 0}
        if tag == "a" and a.get("href", "").startswith("#"):
            self.links.append(a["href"][1:])
        if tag == "img":
            self.images.append(a.get("src", ""))
            if not a.get("alt"):
                self.errors.append("img without alt")
            if self._current:
                self.sections[self._current]["imgs"] += 1
        if tag == "tr" and self._current:
            self.sections[self._current]["rows"] += 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}>, open: {self.stack[-3:]}")
            return
        self.stack.pop()
        if tag == "section":
            self._current = None

    def handle_data(self, data):
        if self._current and data.strip():
            self.sections[self._current]["text"] += len(data.strip())


@pytest.fixture(scope="module")
def parsed(demo_dir):
    html = (demo_dir / "report.html").read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(html)
    checker.close()
    return html, checker


def test_report_is_well_formed(parsed):
    html, c = parsed
    assert html.startswith("<!DOCTYPE html>")
    assert c.errors == []
    assert c.stack == []
    assert len(c.ids) == len(set(c.ids))
    assert set(c.links) <= set(c.ids)


def test_report_is_self_contained(parsed):
    html, c = parsed
    assert c.images and all(src.startswith("data:image/png;base64,") for src in c.images)
    for external in ("http://", "https://", "src=\"file:", "<script src", "<link"):
        assert external not in html


def test_every_section_filled(parsed):
    _, c = parsed
    for anchor, _title in SECTIONS:
        sec = c.sections.get(anchor)
        assert sec is not None, f"section {anchor} missing"
        assert sec["rows"] > 1 or sec["imgs"] > 0 or sec["text"] > 80, f"section {anchor} empty: {sec}"
    for anchor in ("roc", "calibration", "dca", "survival", "tdauc", "nomogram"):
        assert c.sections[anchor]["imgs"] >= 1, anchor
    assert c.sections["checklist"]["rows"] > 20


def test_report_contents(parsed, demo_dir):
    import json

    html, _ = parsed
    res = json.loads((demo_dir / "results.json").read_text())
    for model, cohort in (("radiomics", "external"), ("combined", "internal")):
        auc = res["models"][model]["cohorts"][cohort]["auc"]
        cell = f"{auc['estimate']:.2f} ({auc['ci_low']:.2f}–{auc['ci_high']:.2f})"
        assert cell in html, cell
    c = res["models"]["radiomics_os"]["cohorts"]["external"]["c_index"]
    assert f"{c['estimate']:.2f} ({c['ci_low']:.2f}–{c['ci_high']:.2f})" in html
    for text in ("Rad-score", "DeLong", "log-rank", "Kruskal", "TRIPOD+AI", "CLEAR", "external", "HR"):
        assert text in html, text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.browser
def test_report_screenshot_in_headless_chromium(demo_dir, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium); .ci/run installs it")
    shot = tmp_path / "report.png"
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--window-size=1200,3000", f"--screenshot={shot}", (demo_dir / "report.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.is_file() and shot.stat().st_size > 20_000
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[0] == 3000 and img.shape[1] == 1200
    # a rendered page, not a blank one: many distinct colours, mostly light background
    flat = img[..., :3].reshape(-1, 3)
    assert len({tuple(v) for v in (flat[::97] * 255).astype(int)}) > 50
    assert flat.mean() > 0.7
