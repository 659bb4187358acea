"""Run fitted skprep pipelines and streaming statistics on a Dask cluster.

``import skprep`` never imports Dask; this subpackage does, so import it explicitly::

    from skprep.distributed import map_pipeline, fit_standardizer

- :func:`map_pipeline` applies a fitted pipeline (loader -> normalizer -> extractor ->
  head) to a ``dask.bag`` / ``dask.dataframe`` of image paths or a ``dask.array`` of
  images, partition by partition, and returns a Dask collection of the same length and
  order, plus the items that failed to load. The fitted pipeline is sent to each worker
  once (installed as a worker plugin on a distributed cluster, one graph key
  otherwise), not pickled into every task; :func:`release_pipelines` removes it.
- :func:`fit_standardizer` fits a :class:`~skprep.DatasetStatsStandardizer` by
  map-reduce: per-partition moments on the workers, merged on the client in partition
  order with the same merge as ``partial_fit``.

Install with ``pip install "skprep[dask]"`` (on the client and on every worker).
"""

from __future__ import annotations

try:
    import dask  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "skprep.distributed needs Dask; install it with: pip install \"skprep[dask]\" "
        "(on the client and on every worker)."
    ) from exc

from ._map import MapResult, map_pipeline, release_pipelines
from ._stats import fit_standardizer
from ._text import fit_text_vectorizer

__all__ = [
    "MapResult", "map_pipeline", "fit_standardizer", "fit_text_vectorizer", "release_pipelines"
]
