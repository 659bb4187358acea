"""Progress bars: only when asked for, and only on a terminal unless forced."""

from __future__ import annotations

import io
import sys

import pytest

from skprep._progress import progress, progress_wanted


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(params=["tqdm", "plain"])
def backend(request, monkeypatch):
    """Run each test with tqdm and with the built-in fallback bar."""
    if request.param == "plain":
        monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails -> plain bar
    else:
        pytest.importorskip("tqdm")
    return request.param


def _run(monkeypatch, stream, verbose):
    monkeypatch.setattr(sys, "stderr", stream)
    items = list(progress(range(5), total=5, verbose=verbose, desc="work", unit="img"))
    assert items == [0, 1, 2, 3, 4]
    return stream.getvalue()


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch, backend):
    assert _run(monkeypatch, io.StringIO(), verbose=1) == ""
    assert _run(monkeypatch, io.StringIO(), verbose=True) == ""


def test_verbose_2_forces_a_bar_into_a_pipe(monkeypatch, backend):
    text = _run(monkeypatch, io.StringIO(), verbose=2)
    assert "work" in text and "5/5" in text


def test_verbose_1_shows_a_bar_on_a_terminal_and_0_never(monkeypatch, backend):
    assert "5/5" in _run(monkeypatch, _Terminal(), verbose=1)
    assert _run(monkeypatch, _Terminal(), verbose=0) == ""
    assert _run(monkeypatch, _Terminal(), verbose=False) == ""


def test_progress_wanted_rule():
    assert progress_wanted(1, stream=_Terminal()) is True
    assert progress_wanted(1, stream=io.StringIO()) is False
    assert progress_wanted(3, stream=io.StringIO()) is True
    assert progress_wanted(None) is False
