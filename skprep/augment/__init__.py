"""Image augmentation as an imbalanced-learn style sampler, with Keras 3 layers' semantics.

:class:`ImageAugmenter` draws each transformation as Keras' ``RandomFlip``,
``RandomTranslation``, ``RandomRotation``, ``RandomZoom``, ``RandomCrop``,
``RandomContrast`` and ``RandomBrightness`` layers draw theirs
(``get_random_transformation``), and applies it as their ``transform_images`` do
(TensorFlow's ``ImageProjectiveTransformV3`` conventions: output pixel ``(x, y)`` reads
the input at ``M @ (x, y, 1)``, same fill modes). The geometric operations of one view
are composed into one affine matrix and resampled once with OpenCV.

Augmentation adds rows, which a scikit-learn transformer cannot do: the augmenter is a
*sampler* (``fit_resample``), which ``imblearn.pipeline.Pipeline`` runs in ``fit`` and
skips in ``predict``.

``_ops`` holds the transformations (drawing and applying, pure functions); ``_augmenter``
the estimator.
"""

from ._augmenter import ImageAugmenter

__all__ = ["ImageAugmenter"]
