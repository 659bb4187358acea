"""Import time: ``python -c "import skprep"`` in a fresh interpreter.

Side by side, each in a new process (median of >= 5 runs): an empty interpreter
(``python -c pass``, the floor), ``import skprep``, ``import skprep`` plus the first use of
``skprep.ImageLoader`` (which loads scikit-learn and Pillow), and ``import keras``
(what a Keras-only pipeline pays before its first image). Also checks that
``import skprep`` loads neither TensorFlow nor Keras. Target (issue 5): ``import
skprep`` under 0.5 s.

Usage: ``python benchmarks/bench_import.py [--quick]`` (``--quick`` skips ``import
keras``); writes ``benchmarks/results/import.json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    machine_info,
    machine_line,
    markdown_table,
    measure,
    parse_args,
    target_check,
    write_results,
)

TOPIC = "import"
TARGET_S = 0.5

CASES = {
    "python -c pass": "pass",
    "import skprep": "import skprep",
    "import skprep; skprep.ImageLoader": "import skprep; skprep.ImageLoader",
    "import keras": "import keras",
}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, env=_env(), cwd=str(ROOT)).stdout


def main(argv=None) -> dict:
    args = parse_args(argv, __doc__.splitlines()[0])
    heavy = _run("import sys, skprep; print(sorted(m for m in ('tensorflow', 'keras') "
                 "if m in sys.modules))").strip()
    rows = []
    floor = None
    for name, code in CASES.items():
        if args.quick and name == "import keras":
            continue
        timing = measure(lambda code=code: _run(code), args.repeats)
        seconds = timing["median_s"]
        if floor is None:
            floor = seconds
        is_target = name == "import skprep"
        rows.append({
            "case": name, "median_s": seconds, "over_empty_interpreter_s": seconds - floor,
            "target_s": TARGET_S if is_target else None,
            "met": target_check(seconds, TARGET_S, higher_is_better=False) if is_target else None,
            "times_s": timing["times_s"],
        })
    columns = [("case", "command"), ("median_s", "wall time (s)"),
               ("over_empty_interpreter_s", "minus empty interpreter (s)"),
               ("target_s", "target (s)"), ("met", "met")]
    info = machine_info()
    table = markdown_table(rows, columns)
    print(f"## Import time: fresh interpreter, median of {args.repeats} runs\n")
    print(f"Machine: {machine_line(info)}\n")
    print(table)
    print(f"\nHeavy frameworks loaded by `import skprep`: {heavy}")
    result = {"topic": TOPIC, "quick": args.quick, "machine": info, "repeats": args.repeats,
              "rows": rows, "heavy_modules_after_import": heavy, "markdown": table}
    write_results(TOPIC, result)
    return result


if __name__ == "__main__":
    main()
