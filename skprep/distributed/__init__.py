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
- :func:`fit_text_vectorizer` / :func:`fit_keras_tokenizer` fit a
  :class:`~skprep.TextVectorizer` / :class:`~skprep.KerasTokenizer` vocabulary the same
  way, from word counts per partition.

Install with ``pip install "skprep[dask]"`` (on the client and on every worker).
"""

from __future__ import annotations

from .._optional import import_optional

import_optional("dask", extra="dask", needed_by="skprep.distributed",
                hint=" (on the client and on every worker)")

from ._map import MapResult, map_pipeline, release_pipelines  # noqa: E402 (after the check)
from ._stats import fit_standardizer  # noqa: E402
from ._text import fit_keras_tokenizer, fit_text_vectorizer  # noqa: E402

__all__ = [
    "MapResult", "map_pipeline", "fit_standardizer", "fit_text_vectorizer",
    "fit_keras_tokenizer", "release_pipelines",
]
