"""Where things live: exceptions in one module, optional imports through one helper,
one input-size parser, a package without test data, examples on the public API only."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skprep
from skprep import exceptions
from skprep.cli import main

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skprep"


def _parsed(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_every_exception_and_warning_class_is_defined_in_exceptions_py():
    defined_elsewhere = []
    for path, tree in _parsed(PACKAGE):
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = [ast.unparse(base) for base in node.bases]
            if any(base.endswith(("Error", "Warning", "Exception")) for base in bases) \
                    and path.name != "exceptions.py":
                defined_elsewhere.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert defined_elsewhere == []


@pytest.mark.parametrize(("module", "name", "builtin"), [
    ("skprep.cli", "CLIError", ValueError),
    ("skprep.pipelines", "UnknownParameterError", ValueError),
    ("skprep._keras", "ModelFileNotFoundError", FileNotFoundError),
])
def test_moved_exceptions_keep_their_old_import_path(module, name, builtin):
    import importlib

    cls = getattr(importlib.import_module(module), name)
    assert cls is getattr(exceptions, name)
    assert issubclass(cls, exceptions.SkprepError) and issubclass(cls, builtin)


def test_import_optional_names_the_extra_and_chains_the_cause():
    from skprep._optional import import_optional

    assert import_optional("numpy.linalg", extra="none") is np.linalg
    with pytest.raises(ImportError, match=r'Safe bundles needs skprep_no_such_module: pip '
                       r'install "skprep\[bundle\]" \(or not\)\.') as info:
        import_optional("skprep_no_such_module.io", extra="bundle", needed_by="Safe bundles",
                        hint=" (or not)")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_failure_lists_are_capped_at_one_limit():
    from skprep.images import ImageLoadReport

    limit = exceptions.MAX_LISTED_FAILURES
    failures = [exceptions.ImageFailure(i, f"{i}.jpg", "ImageDecodeError", "bad")
                for i in range(limit + 3)]
    error_lines = str(exceptions.ImageLoadError(failures=failures)).splitlines()
    report_lines = str(ImageLoadReport(limit + 5, failures)).splitlines()
    for lines in (error_lines, report_lines):
        listed = [line for line in lines if line.startswith("  - ")]
        assert len(listed) == limit and listed[-1] == f"  - item {limit - 1} ({limit - 1}.jpg): bad"
        assert any(line.startswith("  ... and 3 more") for line in lines)
    assert error_lines[0] == f"{limit + 3} image(s) could not be loaded:"
    assert report_lines[0] == f"{limit + 3} of {limit + 5} image(s) failed:"


@pytest.mark.parametrize(("value", "expected"), [
    (96, (96, 96)), ((48, 64), (48, 64)), ([48, 64], (48, 64)), (np.int64(32), (32, 32)),
    ("32", (32, 32)), ("48,64", (48, 64)), ("48x64", (48, 64)), ("48X64", (48, 64)),
])
def test_parse_input_size_accepts(value, expected):
    from skprep.registry import parse_input_size

    assert parse_input_size(value) == expected


@pytest.mark.parametrize("value", [0, -3, (0, 3), (3,), (1, 2, 3), "a", "1,2,3", "0", None,
                                   2.5, (2.0, 3.0)])
def test_parse_input_size_refuses(value):
    from skprep.registry import parse_input_size

    with pytest.raises(ValueError, match=r"--size must be an int N or a \(height, width\) "):
        parse_input_size(value, name="--size")


def test_pickle_refusal_is_a_type_and_the_cli_names_its_flag(tmp_path, capsys):
    rng = np.random.default_rng(0)
    pipe = make_pipeline(StandardScaler()).fit(rng.normal(size=(10, 3)))
    path = tmp_path / "pickled.skprep"
    skprep.save(pipe, path, format="pickle")
    with pytest.raises(exceptions.PickleRefusedError, match="allow_pickle=True"):
        skprep.load(path)
    assert issubclass(exceptions.PickleRefusedError, exceptions.BundleError)
    assert main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert "holds a pickle payload" in err and "--allow-pickle" in err
    assert main(["info", str(path), "--allow-pickle"]) == 0


def test_package_holds_no_test_corpus_and_examples_use_the_public_api():
    assert not list(PACKAGE.rglob("*corpus*"))
    for path, tree in _parsed(ROOT / "examples"):
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("skprep"):
                private = [part for part in node.module.split(".") if part.startswith("_")]
                assert not private, f"{path.name}:{node.lineno} imports {node.module}"
            edits_path = (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                          and ast.unparse(node.func.value) == "sys.path")
            assert not edits_path, f"{path.name}:{node.lineno} edits sys.path"
