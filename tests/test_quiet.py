"""Quiet starts: TensorFlow's start-up lines are dropped, everything else on stderr is kept."""

from __future__ import annotations

import os

import pytest

from skprep._quiet import _stderr_filtered, is_startup_noise

# lines TensorFlow 2.21 printed on this project's machines (no GPU), verbatim
NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796172990.433982   11457 port.cc:153] oneDNN custom operations are on. You "
    "may see slightly different numerical results due to floating-point round-off errors from "
    "different computation orders. To turn them off, set the environment variable "
    "`TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796172990.434350   11457 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "I0000 00:00:1796172990.498031   11457 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other "
    "operations, rebuild TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796172996.267922   11457 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "2025-09-17 14:44:05.157831: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could "
    "not find cuda drivers on your machine, GPU will not be used.",
    "E0000 00:00:1758131045.203198 3722035 cuda_dnn.cc:8579] Unable to register cuDNN factory: "
    "Attempting to register factory for plugin cuDNN when one has already been registered",
]
KEPT = [
    "E0000 00:00:1796172996.267922   11457 bfc_allocator.cc:52] Allocator ran out of memory",
    "F0000 00:00:1796172996.267922   11457 check.cc:1] Check failed: x == y",
    "Traceback (most recent call last):",
    "<string>:6: UserWarning: a python warning",
    "skprep: error: bundle 'x' does not exist",
    "",
]


@pytest.mark.parametrize("line", NOISE)
def test_startup_lines_are_noise(line):
    assert is_startup_noise(line)


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line):
    assert not is_startup_noise(line)


def test_filter_drops_noise_written_to_descriptor_2_and_keeps_the_rest(capfd):
    with _stderr_filtered():
        for line in [NOISE[0], KEPT[0], NOISE[5], KEPT[2], NOISE[4]]:
            os.write(2, (line + "\n").encode())
    os.write(2, (NOISE[1] + "\n").encode())  # after the window: written as is
    err = capfd.readouterr().err
    assert err.splitlines() == [KEPT[0], KEPT[2], NOISE[1]]


# A real process with TensorFlow: tests/test_cli.py::test_smoke_real_processes_start_quietly
# (``python -m skprep predict`` calls quiet_tensorflow() and its stderr holds one line).
