"""Gene sets: the immune sets shipped with radsig (sources in the GMT description column) and GMT files."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from radsig._typing import PathLike
from radsig.exceptions import ConfigError


def read_gmt(path: PathLike) -> dict[str, list[str]]:
    """Read a GMT file (name, description, genes… tab-separated) into ``{name: [genes]}``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: gene-set file not found")
    return _parse_gmt(path.read_text(), str(path))


def _parse_gmt(text: str, origin: str) -> dict[str, list[str]]:
    sets: dict[str, list[str]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) < 3:
            raise ConfigError(f"{origin}: line {n} is not GMT (name<TAB>description<TAB>genes…)")
        genes = [g.strip() for g in parts[2:] if g.strip()]
        if parts[0] in sets:
            raise ConfigError(f"{origin}: gene set {parts[0]!r} defined twice (line {n})")
        sets[parts[0]] = list(dict.fromkeys(genes))
    return sets


def immune_gene_sets() -> dict[str, list[str]]:
    """The shipped immune gene sets: cytolytic activity, IFN-γ and T-cell-inflamed GEP, Danaher cell types."""
    text = resources.files("radsig.biology").joinpath("immune_gene_sets.gmt").read_text()
    return _parse_gmt(text, "immune_gene_sets.gmt")


def gene_set_sources() -> dict[str, str]:
    """Citation of each shipped gene set (the GMT description column)."""
    text = resources.files("radsig.biology").joinpath("immune_gene_sets.gmt").read_text()
    return {line.split("\t")[0]: line.split("\t")[1] for line in text.splitlines() if line.strip()}
