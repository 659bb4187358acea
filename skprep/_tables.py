"""Tables written row batch by row batch: the command line's output, in constant memory.

One row per input item: its path, its values (features, or predictions), and, when
asked, an ``error`` column ("" for the items that loaded). A row whose item failed and
was skipped has no values (empty CSV cells, Parquet nulls; left out of an ``.npz``'s
``features``, listed in its ``failed_paths`` / ``errors``).
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import InvalidArgumentError

__all__ = ["TableWriter", "TABLE_SUFFIXES"]

#: output extensions the writer knows
TABLE_SUFFIXES = (".npz", ".parquet", ".csv")


class TableWriter:
    """Append rows to ``path`` (.npz, .csv, .parquet, or "-": CSV on stdout) as they come.

    Parameters
    ----------
    path : str
        Output file, by extension; "-" writes CSV to stdout.
    columns : list of str
        Names of the value columns.
    errors : bool, default=False
        Add the ``error`` column (``failed_paths`` / ``errors`` arrays in an .npz).

    Examples
    --------
    >>> import numpy as np
    >>> writer = TableWriter("-", ["f0", "f1"], errors=True)
    >>> writer.write(["a.jpg", "b.jpg"], np.array([[1.0, 2.0], [0.0, 0.0]]),
    ...              {1: "cannot decode"}, skip=True)
    path,f0,f1,error
    a.jpg,1.0,2.0,
    b.jpg,,,cannot decode
    >>> writer.close()
    2
    """

    def __init__(self, path: str, columns: Sequence[str], *, errors: bool = False) -> None:
        self.path = path
        self.columns = [str(c) for c in columns]
        self.errors = errors
        self.suffix = ".csv" if path == "-" else Path(path).suffix.lower()
        if self.suffix not in TABLE_SUFFIXES:
            raise InvalidArgumentError(f"output {path!r}: the extension must be one of "
                             f"{', '.join(TABLE_SUFFIXES)}")
        self.n_rows = 0
        self._csv: Any = None
        self._stream: Any = None
        self._parquet: Any = None
        self._raw: Any = None  # .npz: float32 rows appended to a temporary file
        self._npz_paths: list[str] = []
        self._npz_failed: list[tuple[str, str]] = []
        self._width: int | None = None

    # ------------------------------------------------------------------ rows

    def write(self, paths: Sequence[str], values: Any, errors: dict[int, str] | None = None,
              *, skip: bool = False) -> None:
        """Append one batch: ``values[i]`` belongs to ``paths[i]``; ``errors`` maps a
        row of the batch to its failure message; with ``skip`` those rows get no values."""
        values = np.asarray(values)
        if values.ndim == 1:
            values = values[:, None]
        errors = errors or {}
        if self.suffix == ".npz":
            self._write_npz(paths, values, errors, skip)
        elif self.suffix == ".csv":
            self._write_csv(paths, values, errors, skip)
        else:
            self._write_parquet(paths, values, errors, skip)
        self.n_rows += len(paths)

    def _cells(self, paths, values, errors, skip) -> list[list[Any]]:
        rows = []
        for i, (name, row) in enumerate(zip(paths, values.tolist(), strict=True)):
            cells = [None] * len(row) if skip and i in errors else row
            rows.append([name, *cells, *([errors.get(i, "")] if self.errors else [])])
        return rows

    def _header(self) -> list[str]:
        return ["path", *self.columns, *(["error"] if self.errors else [])]

    def _write_csv(self, paths, values, errors, skip) -> None:
        if self._csv is None:
            self._stream = (sys.stdout if self.path == "-"
                            else open(self.path, "w", newline="", encoding="utf-8"))
            self._csv = csv.writer(self._stream, lineterminator="\n")
            self._csv.writerow(self._header())
        for cells in self._cells(paths, values, errors, skip):
            self._csv.writerow(["" if c is None else c for c in cells])

    def _write_parquet(self, paths, values, errors, skip) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError("writing .parquet needs pyarrow: pip install pyarrow, or "
                              "write .npz / .csv") from None
        columns = list(zip(*self._cells(paths, values, errors, skip), strict=True))
        if self._parquet is None:
            kinds = [pa.string()] + [pa.array(values[:, j]).type
                                     for j in range(values.shape[1])]
            kinds += [pa.string()] if self.errors else []
            schema = pa.schema(list(zip(self._header(), kinds, strict=True)))
            self._parquet = pq.ParquetWriter(self.path, schema)
        schema = self._parquet.schema
        arrays = [pa.array(list(col), type=schema.field(j).type)
                  for j, col in enumerate(columns)]
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=schema))

    def _write_npz(self, paths, values, errors, skip) -> None:
        if self._raw is None:
            folder = os.path.dirname(os.path.abspath(self.path))
            self._raw = tempfile.TemporaryFile(dir=folder)
            self._width = values.shape[1]
        keep = [i for i in range(len(paths)) if not (skip and i in errors)]
        self._raw.write(np.ascontiguousarray(values[keep], dtype=np.float32).tobytes())
        self._npz_paths += [paths[i] for i in keep]
        self._npz_failed += [(paths[i], message) for i, message in sorted(errors.items())]

    # ------------------------------------------------------------------ end

    def close(self) -> int:
        """Finish the file; returns the number of rows written."""
        if self.suffix == ".npz":
            self._close_npz()
        elif self._parquet is not None:
            self._parquet.close()
        elif self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
        return self.n_rows

    def abort(self) -> None:
        """Stop and remove what was written (an error ended the run)."""
        for handle in (self._parquet, self._raw):
            if handle is not None:
                handle.close()
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()
        if self.path != "-" and os.path.exists(self.path):
            os.remove(self.path)

    def _close_npz(self) -> None:
        width = self._width or len(self.columns)
        n_kept = len(self._npz_paths)
        with zipfile.ZipFile(self.path, "w", allowZip64=True) as archive:
            with archive.open("features.npy", "w", force_zip64=True) as member:
                header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
                          "fortran_order": False, "shape": (n_kept, width)}
                np.lib.format.write_array_header_2_0(member, header)
                if self._raw is not None:
                    self._raw.seek(0)
                    while chunk := self._raw.read(1 << 22):
                        member.write(chunk)
            small = {"paths": np.asarray(self._npz_paths, dtype=str),
                     "columns": np.asarray(self.columns, dtype=str)}
            if self.errors:
                failed = self._npz_failed
                small["failed_paths"] = np.asarray([p for p, _ in failed], dtype=str)
                small["errors"] = np.asarray([m for _, m in failed], dtype=str)
            for name, array in small.items():
                with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)
        if self._raw is not None:
            self._raw.close()
