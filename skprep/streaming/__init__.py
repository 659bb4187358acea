"""StreamingPipeline: a scikit-learn Pipeline that runs images through its steps in batches.

A plain :class:`~sklearn.pipeline.Pipeline` runs each step over the whole input before
the next one starts, so a loader -> normalizer -> extractor pipeline holds every image
as uint8 and again as float32. :class:`StreamingPipeline` runs the same steps batch by
batch, end to end, while the data is image-shaped; a background thread loads and
normalizes batch k+1 while batch k runs through the model.

**Where streaming stops** (the one rule): streaming starts when the input is a
collection of image items for a leading :class:`~skprep.ImageLoader`, or an image batch
(an array with ``ndim > 2``), and it holds more than ``batch_size`` rows. Each step runs
batch by batch while its input is image-shaped (``ndim > 2``; the loader's input is the
items themselves). The first step whose output is not image-shaped (the extractor, or a
flattening step) is the last streamed step: its per-batch outputs are concatenated once,
and the steps after it receive that ``(N, D)`` matrix whole, exactly as in ``Pipeline``.
So memory holds at most ``prefetch + 2`` batches of images, plus the feature matrix.

**Fitting streamed steps**: a step with ``partial_fit`` (``DatasetStatsStandardizer``)
is fitted over every batch (``fit`` on the first, ``partial_fit`` on the rest), which
costs one more pass over the input upstream of it; a step whose ``fit`` learns nothing
from the data values (the loader, ``KerasModeNormalizer``, ``KerasFeatureExtractor``,
scikit-learn's ``FunctionTransformer``; see :func:`register_stateless_step`) is fitted on
the first batch only, which gives the same fitted state; any other step is fitted as
``Pipeline`` does, on its whole input (correct, but that input is then held in memory).
"""


from ._engine import register_stateless_step
from ._pipeline import StreamingPipeline, make_streaming_pipeline

__all__ = ["StreamingPipeline", "make_streaming_pipeline", "register_stateless_step"]
