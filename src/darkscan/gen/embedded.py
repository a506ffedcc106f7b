"""Embedded generation: Pythia 8 in-process + the fast detector → sharded event tables.

Each sample point is split into shards of ``generator.shard_events`` events; shard ``i`` gets its own
Pythia seed (:func:`~darkscan.gen.pythia.shard_seed`) and detector random stream, both derived from
the point's seed, so shards are independent, reproducible and can run in any order on any number
of worker processes. A shard is written atomically to ``events/shard-NNNNN.parquet``; a shard file
that exists is finished, so an interrupted run resumes where it stopped and never duplicates.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import multiprocessing
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from darkscan.errors import DarkscanError, StudyError

__all__ = [
    "ShardTask",
    "build_event_table",
    "combined_cross_section",
    "generate_events",
    "plan_shards",
    "run_shard",
    "run_study",
    "run_study_shard",
    "study_shards",
    "shard_path",
    "stale",
]

#: events per nextBatch call: large enough to amortise the per-batch numpy work
BATCH_EVENTS = 500


def shard_path(point_directory: Path, shard: int) -> Path:
    return Path(point_directory) / "events" / f"shard-{shard:05d}.parquet"


@dataclasses.dataclass(frozen=True)
class ShardTask:
    """Everything a worker process needs to produce one shard (picklable)."""

    sample: str
    process: str
    point_id: str
    parameters: dict[str, Any]
    generation_cuts: dict[str, float]
    point_seed: int
    shard: int
    first_event: int
    n_events: int
    sqrt_s_gev: float
    preset: str
    detector_params: str | None
    output: str
    slha_path: str | None = None


def plan_shards(n_events: int, shard_events: int) -> list[tuple[int, int, int]]:
    """``(shard, first_event, n_events)`` of each shard."""
    return [(i, first, min(shard_events, n_events - first))
            for i, first in enumerate(range(0, n_events, shard_events))]


def generate_events(run: Any, detector: Any, n_events: int, first_event: int, rng: np.random.Generator,
                    on_batch: Callable[[int], None] | None = None) -> Any:
    """``n_events`` events through the detector, as an awkward event table (numbered from ``first_event``)."""
    import awkward as ak

    from darkscan.gen.detector import ParticleArrays
    from darkscan.gen.pythia import weights_of

    parts = []
    done = 0
    stalled = 0
    while done < n_events:
        want = n_events - done
        if run.filtered and run.n_passed:
            want = int(want / max(run.filter_efficiency, 1e-3) * 1.1) + 10
        events = run.batch(min(max(want, 1), 20 * BATCH_EVENTS if run.filtered else BATCH_EVENTS))
        events = events[: n_events - done]
        if len(events) == 0:
            stalled += 1
            if stalled > 50:
                raise DarkscanError(f"{run.recipe.process}: no event passed the generator-level filter in "
                                    f"{run.n_generated} tries; loosen the generation cuts")
            continue
        table = build_event_table(detector, ParticleArrays.from_pythia_batch(events), weights_of(events),
                                  first_event + done, rng)
        parts.append(table)
        done += len(events)
        if on_batch is not None:
            on_batch(len(events))
    return ak.concatenate(parts) if len(parts) > 1 else parts[0]


def build_event_table(detector: Any, particles: Any, weights: np.ndarray, first_event: int,
                      rng: np.random.Generator) -> Any:
    """Detector objects + weights + event numbers as one awkward record array."""
    import awkward as ak

    objects = detector.simulate(particles, rng)
    n = particles.n_events
    return ak.zip({**objects, "weight": weights, "event": np.arange(first_event, first_event + n, dtype=np.int64)},
                  depth_limit=1)


def run_shard(task: ShardTask, on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Generate and write one shard; returns a summary (σ, trials, warnings)."""
    from darkscan.readers.events import EventTableMetadata, write_event_table
    from darkscan.gen.detector import FastDetector, load_detector_params
    from darkscan.gen.pythia import PythiaRun, recipe_for, shard_seed
    from darkscan.io import sha256_file

    start = time.perf_counter()
    recipe = recipe_for(task.process, task.parameters, task.generation_cuts)
    seed = shard_seed(task.point_seed, task.shard)
    params = load_detector_params(task.detector_params)
    detector = FastDetector(params, recipe.invisible_pdgids)
    run = PythiaRun(recipe, sqrt_s_gev=task.sqrt_s_gev, preset=task.preset, seed=seed,
                    slha_path=Path(task.slha_path) if task.slha_path else None)
    rng = np.random.default_rng(np.random.SeedSequence(task.point_seed, spawn_key=(task.shard, 1)))
    events = generate_events(run, detector, task.n_events, task.first_event, rng, on_batch)
    sigma, error = run.cross_section_pb()
    if not sigma > 0:
        raise DarkscanError(f"{task.sample}/{task.point_id}: Pythia reports σ = {sigma:g} pb for {task.process}; "
                            "the process is closed at these parameters")
    warnings = [*recipe.warnings, *run.sanity_warnings()]
    import awkward as ak

    metadata = EventTableMetadata(
        sample=task.sample, source="embedded", level="detector",
        cross_section_pb=sigma, cross_section_error_pb=error,
        sum_weights=float(ak.sum(events["weight"])), n_trials=run.n_trials(), n_accepted=len(events),
        seed=seed, parameters=dict(task.parameters), generator_settings=[_portable(s) for s in run.settings],
        extra={
            "process": task.process, "point_id": task.point_id, "point_seed": task.point_seed,
            "generation_cuts": dict(task.generation_cuts),
            "shard": task.shard, "first_event": task.first_event, "preset": task.preset,
            "generator": "pythia8mc",
            "filter": recipe.event_filter or ("vector-mediator couplings" if run.filtered else None),
            "filter_efficiency": run.filter_efficiency if run.filtered else 1.0,
            "n_generated_before_filter": run.n_generated,
            # names and hashes, not paths: the same study writes the same bytes in any folder
            "detector_params": params.path.name, "detector_params_sha256": sha256_file(params.path),
            "invisible_pdgids": [int(i) for i in detector.invisible], "warnings": warnings,
        },
    )
    write_event_table(task.output, events, metadata)
    return {"shard": task.shard, "sigma_pb": sigma, "n_trials": metadata.n_trials, "warnings": warnings,
            "seconds": time.perf_counter() - start, "n_events": len(events)}


def _portable(setting: str) -> str:
    """A Pythia setting without the folder it was run in (``SLHA:file`` names the point's file)."""
    key, _, value = setting.partition("=")
    if key.strip() == "SLHA:file":
        return f"{key}= {Path(value.strip()).name}"
    return setting


def combined_cross_section(paths: list[Path]) -> tuple[float, float, int]:
    """Σ σ_i·n_i / Σ n_i over shards (n = trials), its error, and the total trials."""
    from darkscan.readers.events import read_event_table_metadata

    metas = [read_event_table_metadata(p) for p in paths]
    trials = np.array([max(m.n_trials, 1) for m in metas], dtype=float)
    sigma = np.array([m.cross_section_pb for m in metas])
    error = np.array([m.cross_section_error_pb for m in metas])
    total = trials.sum()
    return float((sigma * trials).sum() / total), float(np.sqrt(((error * trials) ** 2).sum()) / total), int(total)


def _tasks(study: Any, points: list[Any]) -> Iterator[ShardTask]:
    from darkscan.gen.detector import load_detector_params
    from darkscan.gen.pythia import recipe_for
    from darkscan.io import write_text_atomic

    params = None
    if study.detector.params is not None:
        params = Path(study.detector.params)
        if not params.is_absolute() and getattr(study, "source", None):
            params = Path(study.source).parent / params
        params = params.resolve()
        load_detector_params(params)  # a broken file fails here, before any work
    for point in points:
        recipe = recipe_for(point.process, point.parameters, point.generation_cuts)  # fails early, before work
        slha_path = None
        if recipe.slha is not None:
            slha = Path(point.directory) / "events" / "spectrum.slha"
            if not slha.exists() or slha.read_text(encoding="utf-8") != recipe.slha:
                write_text_atomic(slha, recipe.slha)
            slha_path = str(slha)
        for shard, first, n in plan_shards(point.n_events, study.generator.shard_events):
            yield ShardTask(
                sample=point.sample, process=point.process, point_id=point.point_id,
                parameters=dict(point.parameters), generation_cuts=dict(point.generation_cuts),
                point_seed=point.seed, shard=shard, first_event=first, n_events=n,
                sqrt_s_gev=study.collider.sqrt_s_gev, preset=study.generator.preset,
                detector_params=str(params) if params else None,
                output=str(shard_path(point.directory, shard)), slha_path=slha_path,
            )


def stale(task: ShardTask) -> list[str]:
    """Why a finished shard on disk does not belong to this task (the study changed), if it doesn't."""
    from darkscan.readers.events import read_event_table_metadata
    from darkscan.gen.pythia import shard_seed

    from darkscan.gen.detector import load_detector_params
    from darkscan.io import sha256_file

    meta = read_event_table_metadata(task.output)
    expected = {"process": task.process, "preset": task.preset, "first_event": task.first_event,
                "generation_cuts": dict(task.generation_cuts),
                "detector_params_sha256": sha256_file(load_detector_params(task.detector_params).path)}
    found = {key: meta.extra.get(key) for key in expected}
    differs = [f"{k} {found[k]!r} (study says {v!r})" for k, v in expected.items() if found[k] != v]
    if meta.seed != shard_seed(task.point_seed, task.shard):
        differs.append("seed (generator.seed changed)")
    if meta.n_accepted != task.n_events:
        differs.append(f"{meta.n_accepted} events (study says {task.n_events}: n_events or shard_events changed)")
    if meta.parameters != task.parameters:
        differs.append("model parameters")
    if not differs:
        return []
    return [f"{task.output}: finished shard from a different configuration — {', '.join(differs)}; "
            "delete that sample's events/ folder (or set a new study `output`) to regenerate"]


def run_study(study: Any, *, workers: int | None = None, samples: list[str] | None = None,
              console: Any = None, start_method: str = "forkserver", progress: Any = None) -> dict[str, Any]:
    """Generate every shard of every (selected) sample point that is not on disk yet.

    ``progress``: a started ``rich.progress.Progress`` to add the events bar to (one display for a
    whole pipeline run); by default a bar of its own on ``console``.
    Returns a summary: shards done now, shards skipped (already finished), warnings.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    if study.generator.backend != "embedded":
        raise StudyError(f"{study.source}: generator.backend is {study.generator.backend!r}; this runner is the "
                         "embedded backend's (darkscan.gen.madgraph.run_study runs madgraph studies)")
    points = [p for p in study.plan() if samples is None or p.sample in samples]
    if samples:
        unknown = sorted(set(samples) - {p.sample for p in study.plan()})
        if unknown:
            raise StudyError(f"unknown sample(s) {unknown}; the study has {sorted({p.sample for p in study.plan()})}")
    tasks = list(_tasks(study, points))
    todo = [t for t in tasks if not Path(t.output).exists()]
    problems = [problem for t in tasks if Path(t.output).exists() for problem in stale(t)]
    if problems:
        raise StudyError(*problems)
    skipped = len(tasks) - len(todo)
    workers = max(1, workers or study.generator.workers)
    summary: dict[str, Any] = {"shards": len(tasks), "skipped": skipped, "done": 0, "warnings": []}
    if not todo:
        return summary
    total_events = sum(t.n_events for t in todo)
    display: Any = contextlib.nullcontext()  # a caller's progress is already started
    if progress is None:
        if console is None:
            from rich.console import Console

            console = Console(stderr=True)  # progress is a diagnostic: never on stdout
        progress = display = Progress(TextColumn("[bold]gen[/]"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("events"), TimeElapsedColumn(), TimeRemainingColumn(),
                                      console=console, transient=False)
    seen_warnings: set[str] = set()

    def record(result: dict[str, Any]) -> None:
        summary["done"] += 1
        for w in result["warnings"]:
            if w not in seen_warnings:
                seen_warnings.add(w)
                summary["warnings"].append(w)

    with display:
        bar = progress.add_task("generation: events", total=total_events)
        if workers == 1:
            for task in todo:
                record(run_shard(task, on_batch=lambda k: progress.advance(bar, k)))
        else:
            context = multiprocessing.get_context(start_method)
            if start_method == "forkserver":
                # the server imports the heavy modules once; each worker is then a cheap fork of a
                # single-threaded process (fork from this process could copy held locks of threads)
                context.set_forkserver_preload(["darkscan.gen.embedded", "darkscan.gen.detector",
                                                "darkscan.gen.pythia", "pythia8mc", "awkward", "fastjet",
                                                "pyarrow.parquet"])
            with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(run_shard, task): task for task in todo}
                try:
                    for future in concurrent.futures.as_completed(futures):
                        result = future.result()
                        progress.advance(bar, futures[future].n_events)
                        record(result)
                except BaseException:
                    for future in futures:
                        future.cancel()
                    raise
    return summary


def study_shards(study: Any) -> list[ShardTask]:
    """Every shard of every sample point of ``study``, in the order ``run_study`` plans them.

    A shard's position in this list is its array-task index on a cluster (``darkscan submit``).
    """
    if study.generator.backend != "embedded":
        raise StudyError(f"{study.source}: generator.backend is {study.generator.backend!r}; only the embedded "
                         "backend is generated in shards")
    return list(_tasks(study, study.plan()))


def run_study_shard(study: Any, index: int, *, work_dir: Path | None = None) -> dict[str, Any] | None:
    """Generate shard ``index`` of :func:`study_shards` unless it is finished; None when it was.

    The resume rule of :func:`run_study`: a shard file that exists is finished, and one made with another
    configuration is refused. With ``work_dir`` (node-local scratch) the shard is written there and
    then copied into place through a temporary file, so a task killed at any point leaves no shard.
    """
    import shutil

    from darkscan.io import atomic_path

    tasks = study_shards(study)
    if not 0 <= index < len(tasks):
        raise StudyError(f"{study.source}: shard index {index} out of range: the study has {len(tasks)} shards "
                         f"(0–{len(tasks) - 1})")
    task = tasks[index]
    if Path(task.output).exists():
        problems = stale(task)
        if problems:
            raise StudyError(*problems)
        return None
    if work_dir is None:
        return run_shard(task)
    local = Path(work_dir) / Path(task.output).name
    result = run_shard(dataclasses.replace(task, output=str(local)))
    with atomic_path(task.output) as tmp:
        shutil.copyfile(local, tmp)
    local.unlink()
    return result
