"""``benchmarks/run_all.py --check``: every missed target of a run is found."""

from __future__ import annotations

import importlib.util
from pathlib import Path

RUN_ALL = Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"


def _run_all():
    spec = importlib.util.spec_from_file_location("skprep_bench_run_all", RUN_ALL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missed_targets_lists_every_kind_of_target():
    run_all = _run_all()
    entries = {
        "stats": {"status": "ok", "result": {"rows": [
            {"dtype": "uint8", "implementation": "skprep", "speedup": 12.0, "target": 25.0,
             "met": False},
            {"dtype": "float32", "implementation": "skprep", "speedup": 9.0, "target": 5.0,
             "met": True},
            {"dtype": "uint8", "implementation": "scikit-learn", "speedup": 1.0},
        ]}},
        "loading": {"status": "ok", "result": {"rows": [
            {"corpus": "web_jpeg", "implementation": "skprep", "mad_met": False,
             "targets": [{"anchor": "Keras", "ratio": 1.5, "minimum": 1.6, "met": False},
                         {"anchor": "tf.data", "ratio": 2.5, "minimum": 2.0, "met": True}]},
        ]}},
        "broken": {"status": "failed", "error": "boom"},
    }
    missed = run_all.missed_targets(entries)
    assert missed == [
        "stats: uint8, skprep: 12.0 vs target 25.0",
        "loading: web_jpeg, skprep: mad check missed",
        "loading: web_jpeg, skprep: 1.50x Keras < 1.6x",
    ]


def test_a_run_that_meets_every_target_has_nothing_missed():
    run_all = _run_all()
    entries = {"stats": {"status": "ok", "result": {"rows": [{"met": True, "target": 2}]}}}
    assert run_all.missed_targets(entries) == []
