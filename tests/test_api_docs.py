"""docs/api.rst lists every public name: each entry of a public module's ``__all__``.

A public module is ``skprepal`` or any module below it with no ``_``-prefixed part in its dotted
name. A name counts as listed when ``docs/api.rst`` documents it under its own dotted name, or, for
a class or function a module re-exports (``skprepal.embedding.FrozenLLMTransformer``), when it
documents the same object under another public name (``skprepal.FrozenLLMTransformer``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import skprepal

API_RST = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

_MODULE = re.compile(r"^\.\.\s+(?:py:)?(?:current)?module::\s*(\S+)\s*$")
_AUTOSUMMARY = re.compile(r"^\.\.\s+autosummary::\s*$")
_OBJECT = re.compile(
    r"^\.\.\s+(?:py:)?(?:auto)?(?:data|function|class|exception|attribute)::\s*([\w.]+)"
)


def documented_names(text: str) -> list[str]:
    """Dotted names api.rst documents: autosummary entries and object directives."""
    names, module, in_autosummary = [], "", False
    for line in text.splitlines():
        if in_autosummary:
            entry = line.strip()
            if not line.strip() or entry.startswith(":"):
                continue  # the blank line after the directive, or one of its options
            if line[:1].isspace():
                names.append(f"{module}.{entry}" if module else entry)
                continue
            in_autosummary = False
        if match := _MODULE.match(line):
            module = match.group(1)
        elif _AUTOSUMMARY.match(line):
            in_autosummary = True
        elif match := _OBJECT.match(line):
            names.append(f"{module}.{match.group(1)}" if module else match.group(1))
    return names


def resolve(dotted: str) -> object:
    """The object a dotted name refers to: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def public_modules() -> list[str]:
    found = pkgutil.walk_packages(skprepal.__path__, prefix="skprepal.")
    names = [m.name for m in found if not any(p.startswith("_") for p in m.name.split("."))]
    return ["skprepal", *sorted(names)]


def public_names() -> list[tuple[str, str]]:
    out = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            if not (name.startswith("__") and name.endswith("__")):  # __version__
                out.append((module_name, name))
    return out


def test_the_parser_reads_autosummary_entries_and_object_directives():
    text = (
        ".. module:: pkg\n\n.. autosummary::\n   :toctree: generated/\n\n   A\n   sub.b\n\n"
        "Prose.\n\n.. currentmodule:: pkg.other\n\n.. data:: C\n\n   About C.\n\n"
        ".. autofunction:: d\n"
    )
    assert documented_names(text) == ["pkg.A", "pkg.sub.b", "pkg.other.C", "pkg.other.d"]


def test_every_public_module_is_found():
    modules = public_modules()
    assert {"skprepal", "skprepal.strategies", "skprepal.labeling", "skprepal.evaluation"} <= set(
        modules
    )
    assert not [m for m in modules if "._" in m]


def test_every_documented_name_exists():
    missing = []
    for name in documented_names(API_RST.read_text(encoding="utf-8")):
        try:
            resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"docs/api.rst lists names that do not exist: {missing}"


def test_every_name_in_a_public_all_is_in_the_api_reference():
    documented = documented_names(API_RST.read_text(encoding="utf-8"))
    documented_set = set(documented)
    objects = [resolve(name) for name in documented]
    absent = []
    for module_name, name in public_names():
        if f"{module_name}.{name}" in documented_set:
            continue
        obj = getattr(importlib.import_module(module_name), name)
        reexported = inspect.isclass(obj) or inspect.isroutine(obj)
        if reexported and any(obj is other for other in objects):
            continue
        absent.append(f"{module_name}.{name}")
    assert not absent, (
        f"these public names are missing from docs/api.rst: {absent}; list each in the section "
        "of its module (an autosummary entry, or a '.. data::' directive for a constant)"
    )


@pytest.mark.parametrize("module_name", public_modules())
def test_every_all_entry_exists(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in getattr(module, "__all__", ()) if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what the module does not define: {missing}"
