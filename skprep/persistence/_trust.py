"""Which types the estimator in a bundle may contain.

skprep trusts the classes defined in scikit-learn, NumPy and skprep itself, on top of
skops' own defaults (builtins, NumPy dtypes, ufuncs), except the classes that a crafted
file can turn into out-of-bounds memory access once the model runs. Those are refused
unless the caller names them in ``trusted=``, as skops itself refuses them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import Any

from ..exceptions import BundleError

__all__ = ["UNSAFE_TYPES", "is_trusted_type", "refuse_untrusted"]

_TRUSTED_PACKAGES = ("sklearn", "numpy", "skprep")
_NEVER_IMPORTED = frozenset({"conftest", "experimental", "__main__", ""})

#: classes of the trusted packages that are still refused by default, and why (for the
#: trees, the reasons skops gives for refusing them, scikit-learn/scikit-learn#34558)
UNSAFE_TYPES: dict[str, str] = {
    "sklearn.tree._tree.Tree": (
        "the node storage of decision trees, random forests, extra trees and gradient "
        "boosting holds raw child and feature indices that scikit-learn reads without "
        "bounds checks: a crafted file loads, and its first predict can crash the "
        "process or read memory out of bounds"
    ),
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor": (
        "the nodes of HistGradientBoosting models hold raw child and feature indices "
        "that scikit-learn reads without bounds checks: a crafted file loads, and its "
        "first predict can crash the process or read memory out of bounds"
    ),
    # not skops' list, since skops does not trust them by default at all; skprep's
    # package rule would. Their state (idx_array, node_data) is set without checks by
    # __setstate__ and read by Cython built with boundscheck=False (sklearn/meson.build)
    "sklearn.neighbors._kd_tree.KDTree": (
        "the KD-tree of nearest-neighbour models holds raw sample and node indices "
        "that scikit-learn reads without bounds checks: a crafted file loads, and its "
        "first query can crash the process or read memory out of bounds"
    ),
    "sklearn.neighbors._ball_tree.BallTree": (
        "the ball tree of nearest-neighbour models holds raw sample and node indices "
        "that scikit-learn reads without bounds checks: a crafted file loads, and its "
        "first query can crash the process or read memory out of bounds"
    ),
}


def is_trusted_type(name: str) -> bool:
    """A class (not a function) defined in scikit-learn, NumPy or skprep, and not unsafe.

    Finding it imports its module, so modules whose import has side effects or costs
    (test suites, ``sklearn.experimental``'s enablers) are never looked at.

    Parameters
    ----------
    name : str
        Fully qualified type name, ``"module.Class"``.

    Returns
    -------
    bool
    """
    if not isinstance(name, str) or name.split(".", 1)[0] not in _TRUSTED_PACKAGES:
        return False
    if name in UNSAFE_TYPES:
        return False
    if any(part in _NEVER_IMPORTED or part.startswith("test") for part in name.split(".")):
        return False
    module_name, _, attr = name.rpartition(".")
    while module_name:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module_name, _, head = module_name.rpartition(".")
            attr = f"{head}.{attr}"
            continue
        except Exception:  # noqa: BLE001 - a name that breaks importing is not trusted
            return False
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part, None)
        return isinstance(obj, type)
    return False


def refuse_untrusted(names: Iterable[str], trusted: Sequence[str] | None,
                     what: str) -> None:
    """Raise a :class:`~skprep.exceptions.BundleError` naming the types not trusted.

    Parameters
    ----------
    names : iterable of str
        The types that skops does not trust by default.
    trusted : sequence of str or None
        The caller's ``trusted=``.
    what : str
        The bundle, for the message.
    """
    extra = set(trusted or ())
    refused = [t for t in names if t not in extra and not is_trusted_type(t)]
    if not refused:
        return
    reasons = "".join(f" {t} is refused by default: {UNSAFE_TYPES[t]}." for t in refused
                      if t in UNSAFE_TYPES)
    raise BundleError(
        f"{what} contains types that are not trusted: {refused}. skprep trusts "
        f"scikit-learn's, numpy's and skprep's own classes.{reasons} If you trust these "
        f"too (you made the file, or trust whoever did), pass trusted={refused!r} to "
        "skprep.load."
    )
