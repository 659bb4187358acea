"""Run every ``benchmarks/bench_*.py``, one after the other, and print one report.

Each script runs in its own subprocess (so one framework's threads, caches or imports
never slow the next one), with ``--quick`` when given here. Its JSON
(``benchmarks/results/<topic>.json``) is collected into ``benchmarks/results/all.json``,
and one markdown report (the machine, then every script's tables) is printed and
written to ``benchmarks/results/all.md``.

Usage::

    python benchmarks/run_all.py            # full run (minutes)
    python benchmarks/run_all.py --quick    # small inputs, about a minute per script
    python benchmarks/run_all.py --only normalize,stats
    python benchmarks/run_all.py --check    # also exit 2 when a ratio misses its target

Exits with status 1 when a script fails (the others still run). With ``--check``, every
result row that carries a target (``"met": false``) is listed, and the exit status is 2
when any target is missed: one command catches a change that slows a path down. Not for
CI: timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, machine_info  # noqa: E402

HERE = Path(__file__).resolve().parent


def discover(only: list[str] | None = None) -> list[Path]:
    """Every ``bench_*.py`` next to this file, sorted by name (optionally filtered)."""
    scripts = sorted(HERE.glob("bench_*.py"))
    if only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in only}
        unknown = wanted - {_topic(s) for s in scripts}
        if unknown:
            raise SystemExit(f"--only: no benchmark named {sorted(unknown)}; available: "
                             f"{sorted(_topic(s) for s in scripts)}")
        scripts = [s for s in scripts if _topic(s) in wanted]
    return scripts


def _topic(script: Path) -> str:
    return script.stem.removeprefix("bench_")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_script(script: Path, quick: bool, timeout: float | None) -> dict:
    """Run one benchmark; return its status, wall time, output and JSON result."""
    topic = _topic(script)
    json_path = RESULTS / f"{topic}.json"
    before = json_path.stat().st_mtime if json_path.exists() else None
    command = [sys.executable, str(script)] + (["--quick"] if quick else [])
    print(f"[run_all] {script.name} {' '.join(command[2:])}...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    entry: dict = {"script": str(script.relative_to(ROOT)), "command": command[1:]}
    try:
        proc = subprocess.run(command, cwd=str(ROOT), env=_env(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        entry.update(status="timeout", seconds=time.perf_counter() - start,
                     stdout=exc.stdout or "", error=f"timed out after {timeout} s")
        return entry
    entry.update(seconds=time.perf_counter() - start, returncode=proc.returncode,
                 stdout=proc.stdout)
    fresh = json_path.exists() and json_path.stat().st_mtime != before
    if proc.returncode != 0:
        entry.update(status="failed", error=proc.stderr[-4000:])
    elif not fresh:
        entry.update(status="failed", error=f"{json_path.name} was not written")
    else:
        entry.update(status="ok", result=json.loads(json_path.read_text()))
    return entry


def machine_markdown(info: dict) -> str:
    lines = [
        f"- CPU: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM",
        f"- Load average at start (1/5/15 min): {info['load_average']}",
        f"- OS: {info['os']}",
        f"- Python {info['python']}, NumPy {info['numpy']}, Pillow {info['pillow']}, "
        f"scikit-learn {info['scikit-learn']}, TensorFlow {info['tensorflow']}, "
        f"Keras {info['keras']}, skprep {info['skprep']}",
    ]
    return "\n".join(lines)


def report(entries: dict[str, dict], info: dict, quick: bool) -> str:
    command = "python benchmarks/run_all.py" + (" --quick" if quick else "")
    parts = [
        "# skprep benchmarks",
        "",
        f"`{command}`, {info['time_utc']} UTC",
        "",
        machine_markdown(info),
        "",
    ]
    for topic, entry in entries.items():
        if entry["status"] != "ok":
            parts += [f"## {topic}: {entry['status'].upper()}", "", "```",
                      entry.get("error", "").strip()[-2000:], "```", ""]
            continue
        body = [line for line in entry["stdout"].splitlines()
                if not line.startswith("Machine:")]
        parts += ["\n".join(body).strip(), "", f"_({entry['seconds']:.0f} s)_", ""]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parts))


def _row_misses(row: dict) -> list[str]:
    """What a result row misses: its own target, a ``*_met`` check, a nested target."""
    misses = []
    if row.get("met") is False:
        ratio = next((row[key] for key in ("speedup", "ratio", "seconds") if key in row), None)
        misses.append(f"{ratio} vs target {row.get('target', row.get('target_s'))}")
    misses += [f"{key.removesuffix('_met')} check missed" for key, value in row.items()
               if key.endswith("_met") and value is False]
    misses += [f"{t['ratio']:.2f}x {t['anchor']} < {t['minimum']}x"
               for t in row.get("targets", []) if t.get("met") is False]
    return misses


def missed_targets(entries: dict[str, dict]) -> list[str]:
    """One line per missed target in the results of a run (``"met": false``)."""
    missed = []
    for topic, entry in entries.items():
        for row in (entry.get("result") or {}).get("rows", []):
            what = ", ".join(str(row[key]) for key in ("corpus", "dtype", "mode",
                                                       "implementation") if key in row)
            missed += [f"{topic}: {what}: {miss}" for miss in _row_misses(row)]
    return missed


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    parser.add_argument("--only", default=None,
                        help="comma-separated topics (normalize,stats,...) to run")
    parser.add_argument("--check", action="store_true",
                        help="exit with status 2 when a ratio misses its target")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed per script (default: no limit)")
    args = parser.parse_args(argv)
    scripts = discover(args.only.split(",") if args.only else None)
    info = machine_info()
    entries = {_topic(script): run_script(script, args.quick, args.timeout)
               for script in scripts}
    markdown = report(entries, info, args.quick)
    RESULTS.mkdir(parents=True, exist_ok=True)
    combined = {"machine": info, "quick": args.quick,
                "results": {topic: {k: v for k, v in entry.items() if k != "stdout"}
                            for topic, entry in entries.items()}}
    (RESULTS / "all.json").write_text(json.dumps(combined, indent=2) + "\n")
    (RESULTS / "all.md").write_text(markdown + "\n")
    print(markdown)
    failed = [topic for topic, entry in entries.items() if entry["status"] != "ok"]
    if failed:
        print(f"[run_all] failed: {', '.join(failed)}", file=sys.stderr)
    combined["failed"] = failed
    combined["missed"] = missed_targets(entries) if args.check else []
    for line in combined["missed"]:
        print(f"[run_all] target missed: {line}", file=sys.stderr)
    return combined


if __name__ == "__main__":
    outcome = main()
    sys.exit(1 if outcome["failed"] else 2 if outcome["missed"] else 0)
