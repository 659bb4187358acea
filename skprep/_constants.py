"""Every preprocessing number skprep uses, defined once.

The values are those of ``keras.applications.imagenet_utils`` (Keras 3).
"""

from __future__ import annotations

__all__ = [
    "CAFFE_MEAN_BGR",
    "TORCH_MEAN_RGB",
    "TORCH_STD_RGB",
    "TF_SCALE",
    "TORCH_SCALE",
    "PIXEL_MAX",
    "MODES",
    "CHANNELS",
]

#: caffe mode: per-channel means subtracted *after* the RGB -> BGR flip, in BGR order.
CAFFE_MEAN_BGR: tuple[float, float, float] = (103.939, 116.779, 123.68)

#: torch mode: ImageNet mean and std in RGB order, applied after dividing by 255.
TORCH_MEAN_RGB: tuple[float, float, float] = (0.485, 0.456, 0.406)
TORCH_STD_RGB: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: tf mode: x / 127.5 - 1.
TF_SCALE: float = 127.5

#: torch mode: x / 255 before the mean/std.
TORCH_SCALE: float = 255.0

#: largest value of an 8-bit pixel.
PIXEL_MAX: float = 255.0

#: every preprocessing mode; "none" means the model does its own preprocessing.
MODES: tuple[str, ...] = ("caffe", "tf", "torch", "none")

#: channels of each ``color_mode`` of the image loader.
CHANNELS: dict[str, int] = {"rgb": 3, "grayscale": 1, "rgba": 4}
