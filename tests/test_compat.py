"""skprep/_compat.py is the one place that uses private scikit-learn or Pillow API (issue 13,
item 12); the oldest supported versions are pinned where CI installs them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "skprep"
PILLOW_INTERNALS = re.compile(r"\bImage\.(ID|OPEN)\b|__code__|\bvars\(ImageFile\)")


def _private_sklearn_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sklearn"):
            private_module = any(part.startswith("_") for part in node.module.split("."))
            private_names = [a.name for a in node.names if a.name.startswith("_")]
            if private_module or private_names:
                found.append(f"from {node.module} import {[a.name for a in node.names]}")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names
                      if a.name.startswith("sklearn") and "._" in a.name]
    return found


def test_private_sklearn_and_pillow_api_only_in_compat():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "_compat.py":
            continue
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        offenders += [f"{rel}: {imp}" for imp in _private_sklearn_imports(ast.parse(text))]
        offenders += [f"{rel}: {m.group(0)}" for m in PILLOW_INTERNALS.finditer(text)]
    assert offenders == []


def test_oldest_constraints_match_the_floors_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = {}
    for req in project["dependencies"] + project["optional-dependencies"]["bundle"] \
            + project["optional-dependencies"]["progress"]:
        name, _, version = req.partition(">=")
        floors[name.lower()] = version
    pins = dict(line.strip().split("==") for line in
                (ROOT / "constraints" / "oldest.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for name, floor in floors.items():
        assert pins[name].startswith(floor), (name, floor, pins[name])
    assert "scipy" in floors  # imported by skprep itself: declared


def test_image_batches_pass_through_the_output_wrapper():
    import sklearn

    from skprep._compat import wrap_output
    from skprep.stats import DatasetStatsStandardizer

    est = DatasetStatsStandardizer().fit(np.ones((2, 3)))
    images = np.zeros((2, 4, 4, 3))
    with sklearn.config_context(transform_output="pandas"):
        assert wrap_output(est, images, images) is images
        assert wrap_output(est, [np.arange(2)], None)[0].tolist() == [0, 1]
        assert list(wrap_output(est, np.ones((2, 3)), None).columns) == ["x0", "x1", "x2"]
