"""Optional dependencies: import one on demand, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["import_optional"]


def import_optional(module: str, *, extra: str, needed_by: str = "This skprep feature",
                    package: str | None = None, hint: str = "") -> ModuleType:
    """Import ``module``, or raise an ImportError naming the skprep extra that installs it.

    Parameters
    ----------
    module : str
        Dotted module name (``"skops.io"``).
    extra : str
        The ``skprep[...]`` extra that installs it (``"bundle"``).
    needed_by : str, default="This skprep feature"
        What needs the module, to start the message (``"Safe bundles"``).
    package : str, default=None
        The package's name in the message; by default the module's top-level name.
    hint : str, default=""
        Appended to the message (another way out, where to install it).

    Returns
    -------
    module

    Raises
    ------
    ImportError
        ``"<needed_by> needs <package>: pip install "skprep[<extra>]"<hint>."``, chained
        to the original ImportError.

    Examples
    --------
    >>> import_optional("json", extra="none").__name__
    'json'
    >>> import_optional("no_such_module_xyz", extra="dask", needed_by="skprep.distributed")
    Traceback (most recent call last):
    ...
    ImportError: skprep.distributed needs no_such_module_xyz: pip install "skprep[dask]".
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        name = package or module.split(".", 1)[0]
        raise ImportError(
            f'{needed_by} needs {name}: pip install "skprep[{extra}]"{hint}.'
        ) from exc
