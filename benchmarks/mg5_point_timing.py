"""Where an MG5 run of one study point spends its time: wall and CPU, per phase, with the load.

Renders a point's MG5 script exactly as ``darkscan cards render`` / the MadGraph backend do
(:func:`darkscan.cards.mg5.render_mg5_script`), runs it with the installed MG5_aMC under ``nice``,
and prints, per point: wall time, CPU time of MG5 and everything it started (user + system, from
``getrusage(RUSAGE_CHILDREN)``; on a machine other jobs share, the wall time is inflated and the CPU
time is the comparable number), the load average before and after, σ, and the phases: the seconds
(wall) from MG5's start to the survey, the refine and the event combination, and the CPU that MG5
itself reports for its survey and refine jobs (``sum of cpu time of last step``).

By default the corners of every scanned sample are run (its lightest and heaviest point).

Run: ``PYTHONPATH=src python benchmarks/mg5_point_timing.py [STUDY] [--points SAMPLE/POINT ...]
[--events N] [--run-card KEY=VALUE ...]`` (STUDY defaults to ``examples/mssm_neutralino_vs_sneutrino.yaml``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MG5_HOME = Path(os.environ.get("DARKSCAN_MG5_HOME", Path.home() / ".cache/darkscan/MG5_aMC_v3_5_7"))
TIMEOUT_S = 3600

#: MG5's log lines that open a phase, in run order
_PHASES = (("survey", re.compile(r"^INFO: Running Survey")), ("refine", re.compile(r"^refine \d+")),
           ("combine", re.compile(r"^INFO: Combining Events")), ("done", re.compile(r"^INFO: Storing parton level")))
_CPU = re.compile(r"^sum of cpu time of last step: (?:(\d+)m)?(\d+(?:\.\d+)?)\s*s")


def parse_cpu_seconds(text: str) -> list[float]:
    """The CPU seconds of each ``sum of cpu time of last step`` line of an MG5 log (survey, refine, …)."""
    out = []
    for line in text.splitlines():
        if match := _CPU.match(line.strip()):
            out.append(60.0 * float(match.group(1) or 0) + float(match.group(2)))
    return out


def corner_points(plan: list[Any]) -> list[Any]:
    """The lightest and heaviest point of every sample (every point of an unscanned one)."""
    by_sample: dict[str, list[Any]] = {}
    for point in plan:
        by_sample.setdefault(point.sample, []).append(point)
    chosen = []
    for points in by_sample.values():
        chosen.append(points[0])
        if len(points) > 1:
            chosen.append(points[-1])
    return chosen


def with_run_card(script: str, extra: list[tuple[str, str]]) -> str:
    """``script`` with ``set run_card KEY VALUE`` lines for ``extra`` after its last run-card line
    (MG5 applies them in order, so they override the rendered ones)."""
    if not extra:
        return script
    lines = script.splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if line.startswith("set run_card "))
    added = [f"set run_card {key} {value}\n" for key, value in extra]
    return "".join(lines[:last + 1] + added + lines[last + 1:])


def run_point(point: Any, study_name: str, workdir: Path,
              extra_run_card: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Run the point's rendered script (plus ``extra_run_card`` settings) in ``workdir``; timings, load and σ."""
    from darkscan.cards.mg5 import SCRIPT_NAME, MG5Settings, render_mg5_script
    from darkscan.gen.shower import lhe_cross_section

    script = render_mg5_script(point, study_name=study_name, settings=MG5Settings())
    (workdir / SCRIPT_NAME).write_text(with_run_card(script, extra_run_card or []), encoding="utf-8")
    argv = ["nice", "-n", "10", sys.executable, "-u", str(MG5_HOME / "bin" / "mg5_aMC"), SCRIPT_NAME]
    env = {**os.environ, "PATH": f"{MG5_HOME / 'darkscan-bin'}:{os.environ['PATH']}"}
    log = workdir / "mg5.log"
    load_before = os.getloadavg()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    phase_start: dict[str, float] = {}
    # the log is line-buffered so that a run in progress can be followed (tail -f mg5.log under --keep)
    with subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as process, log.open("w", buffering=1) as out:
        assert process.stdout is not None
        for line in process.stdout:  # MG5 writes as it goes: each phase's start is timed here
            out.write(line)
            for phase, pattern in _PHASES:
                if phase not in phase_start and pattern.match(line.strip()):
                    phase_start[phase] = time.perf_counter() - start
        code = process.wait(timeout=TIMEOUT_S)
    wall = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_after = os.getloadavg()
    text = log.read_text(encoding="utf-8", errors="replace")
    lhe = workdir / "mg5" / "Events" / "run_01" / "unweighted_events.lhe.gz"
    if code != 0 or not lhe.is_file() or re.search(r"^(Error|InvalidCmd)|command not executed", text, re.M):
        raise SystemExit(f"{point.sample}/{point.point_id}: {' '.join(argv)} exited {code} without events; log {log}")
    sigma, error = lhe_cross_section(lhe)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"point": f"{point.sample}/{point.point_id}", "events": point.n_events, "wall_s": wall, "cpu_s": cpu,
            "load_before": load_before[0], "load_after": load_after[0], "sigma_pb": sigma, "sigma_error_pb": error,
            "phase_start_s": phase_start, "mg5_cpu_s": parse_cpu_seconds(text)}


def main() -> None:
    from darkscan.study import load_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", nargs="?", default=str(ROOT / "examples" / "mssm_neutralino_vs_sneutrino.yaml"))
    parser.add_argument("--points", nargs="*", help="SAMPLE/POINT_ID (default: every sample's lightest and heaviest)")
    parser.add_argument("--events", type=int, help="events per point (default: the study's)")
    parser.add_argument("--keep", type=Path, help="keep the MG5 folders under this directory")
    parser.add_argument("--run-card", nargs="*", default=[], metavar="KEY=VALUE",
                        help="extra run-card settings to compare against the rendered cards (e.g. sde_strategy=2)")
    args = parser.parse_args()
    extra = [tuple(item.split("=", 1)) for item in args.run_card]
    if any(len(item) != 2 or not all(item) for item in extra):
        raise SystemExit(f"--run-card takes KEY=VALUE, got {args.run_card}")
    if not (MG5_HOME / "bin" / "mg5_aMC").is_file():
        raise SystemExit(f"MG5 not installed at {MG5_HOME}: run .ci/install-mg5")
    study = load_study(Path(args.study))
    plan = study.plan()
    if args.points:
        wanted = set(args.points)
        points = [p for p in plan if f"{p.sample}/{p.point_id}" in wanted]
        missing = wanted - {f"{p.sample}/{p.point_id}" for p in points}
        if missing:
            raise SystemExit(f"no such points in {args.study}: {sorted(missing)}")
    else:
        points = corner_points(plan)
    if args.events:
        points = [dataclasses.replace(p, n_events=args.events) for p in points]
    print(f"{'point':<28s} {'events':>6s} {'wall s':>7s} {'CPU s':>7s} {'load':>11s} {'σ [pb]':>21s}  "
          "phases: survey/refine/combine start s (wall); survey, refine CPU s (MG5)", flush=True)
    for point in points:
        if args.keep is not None:
            folder = args.keep / f"{point.sample}-{point.point_id}"
            folder.mkdir(parents=True)
            r = run_point(point, study.name, folder, extra)
        else:
            with tempfile.TemporaryDirectory(prefix="mg5-timing-") as tmp:
                r = run_point(point, study.name, Path(tmp), extra)
        starts = "/".join(f"{r['phase_start_s'].get(k, float('nan')):.0f}" for k in ("survey", "refine", "combine"))
        print(f"{r['point']:<28s} {r['events']:>6d} {r['wall_s']:>7.0f} {r['cpu_s']:>7.0f} "
              f"{r['load_before']:>5.1f}/{r['load_after']:<5.1f} {r['sigma_pb']:>10.4g} ± {r['sigma_error_pb']:<8.2g}  "
              f"{starts}; {', '.join(f'{c:.0f}' for c in r['mg5_cpu_s'])}", flush=True)


if __name__ == "__main__":
    main()
