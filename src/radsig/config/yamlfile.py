"""The one YAML reader of radsig's settings, parameter and study files.

PyYAML's safe loader accepts three things that hide or blow up a user's intent, so this loader
refuses them with a :class:`~radsig.exceptions.ConfigError` naming the file and the line:

- aliases (``*name``, also the ``<<: *name`` merge key): an "alias bomb" of a few lines expands to
  gigabytes, and a settings file has no need for them; write the values out;
- duplicate keys in one mapping (PyYAML keeps the last one without a word);
- bytes that are not UTF-8 (the message gives the position of the first bad byte).

An empty file (or one holding only comments) is an error too: it cannot be what the user meant.
libyaml's parser is used where PyYAML has it (the checks live in the constructor, so they hold for
both parsers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from radsig.exceptions import ConfigError

__all__ = ["load_yaml", "parse_yaml"]

_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_ALIASES = "aliases and anchors (*name, <<: *name) are not allowed; write the values out"


class _Refused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _CheckedLoader(_BASE):  # type: ignore[misc,valid-type]
    """Safe loader that refuses aliases and duplicate keys."""

    def construct_object(self, node, deep=False):
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _Refused(f"YAML alias at line {node.start_mark.line + 1}: {_ALIASES}")
        return super().construct_object(node, deep=deep)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in seen:
                        raise _Refused(f"duplicate key '{key_node.value}' at line "
                                       f"{key_node.start_mark.line + 1} (first at line "
                                       f"{seen[key]}); each key may appear once per section")
                    seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_CheckedLoader.add_constructor("tag:yaml.org,2002:map", _CheckedLoader.construct_yaml_map)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML *text* (from *source*, for messages) with the checks above; None if empty."""
    try:
        return yaml.load(text, Loader=_CheckedLoader)  # noqa: S506 - a SafeLoader subclass
    except _Refused as err:
        raise ConfigError(f"{source}: {err.message}") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        if "alias" in problem:  # an alias the composer could not resolve (no anchor before it)
            raise ConfigError(f"{source}: YAML alias{where}: {_ALIASES}") from None
        raise ConfigError(f"{source}: malformed YAML{where}: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply") from None


def read_text(path: str | Path, what: str = "settings file") -> str:
    """The file's text, decoded as UTF-8 (a leading BOM is dropped); ConfigError otherwise."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: {what} not found; check the path")
    if not path.is_file():
        raise ConfigError(f"{path}: {what} is a folder, not a file")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read {what}: {err.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path}: {what} is not UTF-8 text (byte 0x{raw[err.start]:02x} at "
                          f"position {err.start}); save it as UTF-8") from None


def load_yaml(path: str | Path, what: str = "settings file", *, allow_empty: bool = False) -> Any:
    """Read and parse a YAML file with every check above.

    Raises
    ------
    ConfigError
        Missing file, folder, non-UTF-8 bytes, malformed YAML, aliases, duplicate keys, or an
        empty file (unless *allow_empty*).
    """
    text = read_text(path, what)
    data = parse_yaml(text, str(path))
    if data is None and not allow_empty:
        raise ConfigError(f"{path}: {what} is empty (no settings in it); write the settings, or "
                          "leave the option out to use the defaults")
    return data
