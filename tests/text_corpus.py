"""A real, offline text corpus: the docstrings of Python's own standard library.

Used by the tests and ``benchmarks/bench_text.py`` (no download, always on disk); test
data, not part of the skprep package. The files are parsed with :mod:`ast`, never
imported.
"""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

__all__ = ["stdlib_docstrings"]

DEFAULT_PACKAGES = ("asyncio", "email", "json", "logging", "unittest", "xml", "http",
                    "concurrent", "importlib", "multiprocessing", "collections", "urllib")


def stdlib_docstrings(
    packages: tuple[str, ...] = DEFAULT_PACKAGES,
    max_docs: int | None = None,
    paragraphs: bool = False,
) -> tuple[list[str], list[str]]:
    """Docstrings of modules, classes and functions of some stdlib packages.

    Parameters
    ----------
    packages : tuple of str
        Standard-library packages to read, in this order (files sorted by path).
    max_docs : int, optional
        Stop after this many documents.
    paragraphs : bool, default=False
        One document per paragraph (blank-line separated) instead of per docstring.

    Returns
    -------
    docs : list of str
        One docstring per module / class / function, in file order.
    labels : list of str
        The package each docstring comes from.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    docs: list[str] = []
    labels: list[str] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "test" in path.relative_to(root).parts[1:-1]:
                continue
            try:
                tree = ast.parse(path.read_text(encoding="utf-8"))
            except (SyntaxError, UnicodeDecodeError):  # pragma: no cover
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                     ast.AsyncFunctionDef)):
                    doc = ast.get_docstring(node, clean=True)
                    if not doc:
                        continue
                    parts = [p for p in doc.split("\n\n") if p.strip()] if paragraphs else [doc]
                    for part in parts:
                        docs.append(part)
                        labels.append(package)
                        if max_docs is not None and len(docs) >= max_docs:
                            return docs, labels
    return docs, labels
