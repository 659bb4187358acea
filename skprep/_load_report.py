"""ImageLoadReport: which rows of a loaded batch failed, and why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .exceptions import ImageFailure, failure_lines

__all__ = ["ImageLoadReport"]


@dataclass(frozen=True)
class ImageLoadReport:
    """What happened to each item of one :meth:`ImageLoader.load` call.

    Returned by ``ImageLoader(...).load(X, return_report=True)`` and attached as
    ``.report`` to the :class:`~skprep.exceptions.ImageLoadWarning` issued by
    ``transform`` when ``on_error="fill"`` filled some rows.

    Parameters
    ----------
    n_items : int
        Number of items in the batch.
    failures : sequence of ImageFailure
        One entry per failed item, in input order.
    offset : int, default=0
        Index of the batch's first item in the whole input, when the input is loaded
        batch by batch (``ImageLoader.load(..., index_offset=...)``); failure indices
        count in the whole input.

    Attributes
    ----------
    indices : list of int
        Rows that failed (and hold ``fill_value``).
    sources : list of str
        The failed items, described (path, ``"<bytes: N bytes>"``, ...).
    error_types : list of str
        Name of the :class:`~skprep.exceptions.ImageLoadError` subclass of each failure.
    messages : list of str
        What went wrong for each failure.
    n_failed : int
        Number of failed items.
    ok : ndarray of bool, shape (n_items,)
        True for the rows of the batch that loaded.

    Examples
    --------
    >>> from skprep.exceptions import ImageFailure
    >>> failure = ImageFailure(1, "a.jpg", "ImageNotFoundError", "no such file")
    >>> report = ImageLoadReport(3, [failure])
    >>> report.indices, report.n_failed, report.ok.tolist()
    ([1], 1, [True, False, True])
    >>> print(report)
    1 of 3 image(s) failed:
      - item 1 (a.jpg): no such file
    """

    n_items: int
    failures: Sequence[ImageFailure] = field(default_factory=tuple)
    offset: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "failures", tuple(self.failures))

    @property
    def indices(self) -> list[int]:
        return [failure.index for failure in self.failures]

    @property
    def sources(self) -> list[str]:
        return [failure.source for failure in self.failures]

    @property
    def error_types(self) -> list[str]:
        return [failure.error_type for failure in self.failures]

    @property
    def messages(self) -> list[str]:
        return [failure.message for failure in self.failures]

    @property
    def n_failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> np.ndarray:
        mask = np.ones(self.n_items, dtype=bool)
        mask[[index - self.offset for index in self.indices]] = False
        return mask

    def to_frame(self):
        """The failures as a pandas DataFrame (columns index, source, error_type, message).

        Returns
        -------
        pandas.DataFrame
        """
        import pandas as pd

        return pd.DataFrame(
            {"index": self.indices, "source": self.sources, "error_type": self.error_types,
             "message": self.messages},
        )

    def __str__(self) -> str:
        if not self.failures:
            return f"all {self.n_items} image(s) loaded"
        lines = [f"{self.n_failed} of {self.n_items} image(s) failed:"]
        lines += failure_lines(self.failures)
        return "\n".join(lines)
