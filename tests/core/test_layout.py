"""The tree shows the pipeline and keeps its layers apart; one name per setting on every surface."""

import ast
import dataclasses
from pathlib import Path

import pytest

from ase_arise import Settings
from ase_arise.cli import CLI_ONLY, build_parser

ROOT = Path(__file__).resolve().parents[2]
# Sub-packages beside the pipeline that runtime code must not import.
NOT_RUNTIME = ("ase_arise.benchmarks", "ase_arise.training", "ovito_arise.benchmarks")
MAX_RUNTIME_LINES = 400


def _modules(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        yield name.removesuffix(".__init__"), path


def _imports(name, path):
    """Absolute names of the modules imported by a module (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                yield f"{base}.{node.module}" if node.module else base
            else:
                yield node.module


def _is_runtime(name):
    return not any(name == p or name.startswith(p + ".") for p in NOT_RUNTIME)


def test_ase_arise_never_imports_ovito():
    offenders = [(name, imported) for name, path in _modules("ase_arise")
                 for imported in _imports(name, path)
                 if imported.split(".")[0] in ("ovito", "ovito_arise")]
    assert offenders == []


@pytest.mark.parametrize("package", ["ase_arise", "ovito_arise"])
def test_runtime_modules_never_import_benchmarks_or_training(package):
    offenders = [(name, imported) for name, path in _modules(package) if _is_runtime(name)
                 for imported in _imports(name, path) if not _is_runtime(imported)]
    assert offenders == []


@pytest.mark.parametrize("package", ["ase_arise", "ovito_arise"])
def test_runtime_modules_are_small(package):
    long = {name: n for name, path in _modules(package) if _is_runtime(name)
            and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_RUNTIME_LINES}
    assert long == {}


def test_import_scan_sees_relative_imports():
    """The scanner resolves ``from ..x import y`` (else the checks above could not fail)."""
    path = ROOT / "ase_arise" / "spm" / "driver.py"
    imported = set(_imports("ase_arise.spm.driver", path))
    assert {"ase_arise.settings", "ase_arise.spm.boxes", "ase_arise.descriptor.neighbors"} \
        <= imported


def _cli_options(command):
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    return {action.dest: action for action in sub._actions if action.dest != "help"}


@pytest.mark.parametrize("command, not_here", [("label", set()), ("spm", {"per_atom"})])
def test_cli_flags_are_the_settings_fields(command, not_here):
    options = _cli_options(command)
    fields = set(Settings.fields())
    assert fields - not_here <= set(options), "a Settings field has no CLI option"
    extra = set(options) - fields - {"parser", "run"}
    assert extra <= set(CLI_ONLY), f"CLI options that are neither settings nor CLI-only: {extra}"
    for name in fields - not_here:
        flags = options[name].option_strings
        assert "--" + name.replace("_", "-") in flags, (name, flags)


def test_cli_defaults_are_the_settings_defaults():
    options = _cli_options("label")
    defaults = {f.name: f.default for f in dataclasses.fields(Settings) if f.init}
    for name, default in defaults.items():
        assert options[name].default == default, name


def test_core_tests_need_no_ovito():
    """tests/core runs where OVITO is not installed; the OVITO layer's tests are tests/ovito."""
    offenders = [(path.name, imported) for path in sorted((ROOT / "tests" / "core").glob("*.py"))
                 for imported in _imports(f"tests.core.{path.stem}", path)
                 if imported.split(".")[0] in ("ovito", "ovito_arise")]
    assert offenders == []
