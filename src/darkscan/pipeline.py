"""The pipeline: a study's stages declared once, run in order on one loaded study, resumable.

:data:`STAGES` lists the stages in order — generation, features (+ selection), datasets,
training, evaluation, report — each with what it reads, what it writes and the part of the study
that configures it. A stage's **fingerprint** is the sha256 of its settings and of the content
(sha256) of every file it reads; never file times or folder names, so the same study gives the same
fingerprints wherever and whenever it runs.

``darkscan run`` calls :func:`run_pipeline`; the single-stage commands (``gen run``,
``histos features``, ``histos build``) call :func:`run_stage` with their stage, so both go through the
same code and keep the same run manifest, ``<output>/manifest.json``: per stage its fingerprint,
settings, inputs and outputs (relative path → sha256), seconds taken; plus the versions of darkscan
and its key dependencies and every seed. A stage whose recorded fingerprint matches and whose
recorded outputs are on disk unchanged is **done** and skipped; otherwise it is **stale** (and
:func:`stage_states` says why) or **missing** (never run). Inside a stage the library functions
resume by themselves (finished shards, feature tables and dataset pieces are kept), so an
interrupted stage is finished, not redone.

Every output file except ``manifest.json`` (which records wall-clock seconds) is byte-identical
for the same study and seeds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from darkscan.errors import DarkscanError, InputFileError, StudyError, did_you_mean
from darkscan.io import sha256_file, write_json_atomic

if TYPE_CHECKING:
    from darkscan.study import Study

__all__ = [
    "MANIFEST",
    "PIECE_KINDS",
    "STAGES",
    "Piece",
    "Stage",
    "StageContext",
    "StageState",
    "read_manifest",
    "run_pipeline",
    "run_stage",
    "select_stages",
    "stage_pieces",
    "stage_states",
    "versions",
]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1

#: packages whose versions go into the manifest and the report (their outputs depend on them)
KEY_PACKAGES = ("numpy", "scipy", "awkward", "pyarrow", "h5py", "pythia8mc", "fastjet", "mt2", "matplotlib",
                "scikit-learn", "tensorflow", "keras")


def __dir__() -> list[str]:
    return list(__all__)


class _NullProgress:
    """A rich-``Progress``-like sink that shows nothing (library calls without a display)."""

    def add_task(self, description: str, *, total: float | None = None, **_: Any) -> int:
        return 0

    def advance(self, task_id: Any, advance: float = 1) -> None:
        return None

    def update(self, task_id: Any, **_: Any) -> None:
        return None


@dataclasses.dataclass
class StageContext:
    """Options of one run, shared by the stages.

    Attributes:
        progress: a started ``rich.progress.Progress`` (one display for the whole run) or a no-op.
        log: prints one diagnostic line (stderr in the CLI).
        workers: generator processes (None: the study's ``generator.workers``).
        samples: generate only these samples (None: all).
        executor, image: the MadGraph backend's executor and container image (None: the study's).
        tasks: build / train / evaluate only these training tasks (None: all).
        force: rebuild feature tables that are up to date.
        plots: write the example plots of the datasets.
    """

    progress: Any = dataclasses.field(default_factory=_NullProgress)
    log: Callable[[str], None] = lambda line: None
    workers: int | None = None
    samples: list[str] | None = None
    executor: str | None = None
    image: str | None = None
    tasks: list[str] | None = None
    force: bool = False
    plots: bool = True


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage of the pipeline.

    Attributes:
        name: its name (``--from``/``--until`` and the manifest use it).
        title: a short description for progress and tables.
        settings: the part of the study that configures the stage (JSON-able).
        reads: the files it reads (upstream outputs), existing ones only.
        writes: the files a finished stage must have written (checked before it is recorded done).
        extra_outputs: glob patterns (relative to the output folder) of further files it writes.
        run: does the work on ``(study, context)``.
        unavailable: why the stage cannot run in this installation, or None.
    """

    name: str
    title: str
    settings: Callable[[Study], Any]
    reads: Callable[[Study], list[Path]]
    writes: Callable[[Study], list[Path]]
    run: Callable[[Study, StageContext], None]
    extra_outputs: tuple[str, ...] = ()
    unavailable: Callable[[Study], str | None] = lambda study: None


# ----------------------------------------------------------------------------------------------
# The stages


def _generation_settings(study: Study) -> Any:
    detector = study.detector.model_dump(mode="json")
    if study.detector.params is not None:
        params = study.detector.params
        path = params if params.is_absolute() or study.source is None else study.source.parent / params
        # the file's content, not its path: moving the study must not invalidate the events
        detector["params"] = sha256_file(path) if path.exists() else f"missing:{params}"
    generator = study.generator.model_dump(mode="json")
    generator.pop("workers")  # how many processes does not change the events
    return {"collider": study.collider.model_dump(mode="json"), "generator": generator, "detector": detector,
            "samples": [s.model_dump(mode="json") for s in study.samples]}


def _expected_shards(study: Study) -> list[Path]:
    from darkscan.gen.embedded import plan_shards, shard_path

    return [shard_path(point.directory, shard) for point in study.plan()
            for shard, _, _ in plan_shards(point.n_events, study.generator.shard_events)]


def _generation_writes(study: Study) -> list[Path]:
    if study.generator.backend == "embedded":
        return _expected_shards(study)
    from darkscan.gen.madgraph import events_path, plan_chunks

    return [events_path(point.directory, chunk, study.detector.simulation) for point in study.plan()
            for chunk, _, _ in plan_chunks(point.n_events, study.generator.shard_events, study.generator.gridpack)]


def _point_event_files(study: Study) -> list[Path]:
    from darkscan.analysis.features import point_inputs

    return [path for point in study.plan() for path in point_inputs(point.directory)]


def _run_generation(study: Study, context: StageContext) -> None:
    if study.generator.backend == "madgraph":
        from darkscan.gen import madgraph

        summary = madgraph.run_study(study, samples=context.samples, executor=context.executor, image=context.image,
                                     progress=context.progress)
    else:
        from darkscan.gen.embedded import run_study

        summary = run_study(study, workers=context.workers, samples=context.samples, progress=context.progress)
    for warning in summary["warnings"]:
        context.log(f"warning: {warning}")
    context.log(f"generation: {summary['done']} shards generated, {summary['skipped']} already on disk "
                f"({summary['shards']} in all) under {study.output_dir}")


def _features_settings(study: Study) -> Any:
    from darkscan.analysis.features import FEATURES

    return {"selection": study.selection.model_dump(mode="json"), "luminosity_fb": study.luminosity_fb,
            "points": [f"{p.sample}/{p.point_id}" for p in study.plan()], "features": list(FEATURES)}


def _features_writes(study: Study) -> list[Path]:
    return [point.directory / "features.parquet" for point in study.plan()]


class _FeatureProgress:
    """Adapts ``build_study_features``' ``start``/``advance`` calls to a rich progress."""

    def __init__(self, progress: Any) -> None:
        self._progress, self._task = progress, None

    def start(self, total: int) -> None:
        self._task = self._progress.add_task("features: sample points", total=total)

    def advance(self, label: str, status: str) -> None:
        self._progress.advance(self._task, 1)


def _run_features(study: Study, context: StageContext) -> None:
    from darkscan.analysis.features import build_study_features

    results = build_study_features(study, force=context.force, progress=_FeatureProgress(context.progress))
    missing = [d for d, status in results.items() if status == "no events"]
    written = sum(status == "written" for status in results.values())
    context.log(f"features: {written} feature tables written, "
                f"{sum(s == 'up to date' for s in results.values())} up to date, {len(missing)} without events")
    if missing:
        raise InputFileError(*(f"{d}/events: no event files (shard-*.parquet, *.lhe[.gz], *.hepmc[.gz], Delphes "
                               "*.root); run `darkscan gen run`, or put MadGraph/Delphes output there" for d in missing))


def _datasets_settings(study: Study) -> Any:
    from darkscan.datasets.build import DATASET_TASK_FIELDS, FORMAT_VERSION

    return {"format_version": FORMAT_VERSION, "histograms": [h.model_dump(mode="json") for h in study.histograms],
            "datasets": study.datasets.model_dump(mode="json"),
            "tasks": [t.model_dump(mode="json", include=set(DATASET_TASK_FIELDS)) for t in study.training],
            **_event_datasets_settings(study)}


def _event_datasets_settings(study: Study) -> Any:
    # only studies with event-level tasks get the key, so other studies keep their fingerprints
    tasks = [t for t in study.training if t.network == "event_dnn"]
    if not tasks:
        return {}
    from darkscan.datasets.events import event_dataset_settings

    return {"event_tasks": [event_dataset_settings(study, t) for t in tasks]}


def _datasets_writes(study: Study) -> list[Path]:
    return [study.output_dir / "datasets" / f"{task.name}.h5" for task in study.training]


def _run_datasets(study: Study, context: StageContext) -> None:
    import warnings

    from darkscan.datasets.build import build_datasets

    if not study.training:
        context.log("datasets: the study has no training tasks, so no datasets to build")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_datasets(study, tasks=context.tasks, progress=context.progress, plots=context.plots)
    for message in dict.fromkeys(str(w.message) for w in caught):
        context.log(f"warning: {message}")


def _ml_module(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"darkscan.ml.{name}")
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.startswith("darkscan"):
            return None
        raise


def _ml_unavailable(name: str) -> Callable[[Study], str | None]:
    def why(study: Study) -> str | None:
        if not study.training:
            return "the study has no training tasks"
        import importlib.util

        if importlib.util.find_spec(f"darkscan.ml.{name}") is None:
            return f"darkscan.ml.{name} is not part of this darkscan version"
        return None

    return why


def _training_settings(study: Study) -> Any:
    return {"training": [t.model_dump(mode="json") for t in study.training],
            "split_seed": study.datasets.seed}


def _run_training(study: Study, context: StageContext) -> None:
    module = _ml_module("train")
    module.train_study(study, tasks=context.tasks, progress=context.progress)


def _run_evaluation(study: Study, context: StageContext) -> None:
    module = _ml_module("evaluate")
    module.evaluate_study(study, tasks=context.tasks, progress=context.progress)


def _evaluation_writes(study: Study) -> list[Path]:
    return [study.output_dir / "evaluation" / f"{task.name}.json" for task in study.training]


def _run_report(study: Study, context: StageContext) -> None:
    from darkscan.report import write_report

    paths = write_report(study, progress=context.progress)
    context.log(f"report: {paths[0]}")


def _files(study: Study, *patterns: str) -> list[Path]:
    return sorted({p for pattern in patterns for p in study.output_dir.glob(pattern) if p.is_file()})


STAGES: tuple[Stage, ...] = (
    Stage("generation", "events: embedded Pythia 8 + fast detector, or MadGraph/Delphes output in place",
          _generation_settings, lambda s: [], _generation_writes, _run_generation,
          extra_outputs=("samples/*/*/events/spectrum.slha",)),
    Stage("features", "features, selection and cut flows", _features_settings, _point_event_files,
          _features_writes, _run_features),
    Stage("datasets", "histogram datasets at fixed S/√B, optimal-AUC ceiling", _datasets_settings,
          lambda s: _features_writes(s), _datasets_writes, _run_datasets, extra_outputs=("datasets/*.png",)),
    Stage("training", "Keras networks per task", _training_settings, _datasets_writes,
          lambda s: [], _run_training, extra_outputs=("models/**/*",), unavailable=_ml_unavailable("train")),
    Stage("evaluation", "AUC, baselines, significance, plots", lambda s: {"tasks": [t.name for t in s.training]},
          lambda s: [*_datasets_writes(s), *_files(s, "models/**/*")], _evaluation_writes, _run_evaluation,
          extra_outputs=("evaluation/*",), unavailable=_ml_unavailable("evaluate")),
    Stage("report", "HTML page + Markdown twin", lambda s: {"study_file": _study_text(s)},
          lambda s: _files(s, "samples/*/*/features.parquet", "datasets/*", "evaluation/*"),
          lambda s: [s.output_dir / "report" / "index.html", s.output_dir / "report" / "report.md"], _run_report,
          extra_outputs=("report/**/*",)),
)


def _study_text(study: Study) -> str:
    return study.source.read_text(encoding="utf-8") if study.source is not None and study.source.exists() else ""


def select_stages(start: str | None = None, until: str | None = None) -> list[Stage]:
    """The stages from ``start`` to ``until`` (inclusive), in order.

    Raises:
        StudyError: an unknown stage name, or ``until`` before ``start``.
    """
    names = [s.name for s in STAGES]
    for option, name in (("--from", start), ("--until", until)):
        if name is not None and name not in names:
            raise StudyError(f"{option} {name!r}: no such stage; {did_you_mean(name, names)} (in order: "
                             f"{', '.join(names)})")
    first = names.index(start) if start else 0
    last = names.index(until) if until else len(names) - 1
    if last < first:
        raise StudyError(f"--until {until!r} comes before --from {start!r}; the order is {' → '.join(names)}")
    return list(STAGES[first:last + 1])


# ----------------------------------------------------------------------------------------------
# Fingerprints, the manifest, states


def _relative(path: Path, study: Study) -> str:
    try:
        return path.relative_to(study.output_dir).as_posix()
    except ValueError:
        return str(path)


def _hashes(paths: Iterable[Path], study: Study) -> dict[str, str]:
    return {_relative(p, study): sha256_file(p) for p in sorted(set(paths)) if p.is_file()}


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _fingerprint(stage: Stage, settings: Any, inputs: dict[str, str]) -> str:
    return _digest({"stage": stage.name, "settings": settings, "inputs": inputs})


def read_manifest(study: Study) -> dict[str, Any]:
    """The run manifest of ``study`` (empty when none was written yet)."""
    path = study.output_dir / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: unreadable run manifest ({exc}); delete it and rerun `darkscan run` "
                             "(finished work is found again, not redone)") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return {}
    return data


def versions() -> dict[str, str | None]:
    """Versions of darkscan and its key dependencies (None: not installed), without importing them."""
    import importlib.metadata
    import platform

    from darkscan import __version__

    found: dict[str, str | None] = {"darkscan": __version__, "python": platform.python_version()}
    for package in KEY_PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def _seeds(study: Study) -> dict[str, Any]:
    seeds: dict[str, Any] = {"generator": study.generator.seed, "datasets": study.datasets.seed,
                             "points": {f"{p.sample}/{p.point_id}": p.seed for p in study.plan()}}
    training = {t.name: t.model_dump(mode="json").get("seed") for t in study.training}
    if any(v is not None for v in training.values()):
        seeds["training"] = training
    return seeds


@dataclasses.dataclass(frozen=True)
class StageState:
    """Where a stage stands: ``done``, ``stale``, ``missing`` or ``unavailable``, and why."""

    stage: str
    state: str
    why: str
    outputs: int = 0
    seconds: float | None = None


def _state(stage: Stage, study: Study, recorded: dict[str, Any] | None,
           upstream: list[StageState]) -> tuple[StageState, str, Any, dict[str, str]]:
    """(state, fingerprint, settings, input hashes) of ``stage`` now."""
    settings = stage.settings(study)
    inputs = _hashes(stage.reads(study), study)
    fingerprint = _fingerprint(stage, settings, inputs)
    blocked = next((u for u in upstream if u.state in ("missing", "stale")), None)
    why_unavailable = stage.unavailable(study)
    if why_unavailable is not None:
        return StageState(stage.name, "unavailable", why_unavailable), fingerprint, settings, inputs
    if recorded is None:
        why = f"upstream {blocked.stage} is {blocked.state}" if blocked else "never run"
        return StageState(stage.name, "missing", why), fingerprint, settings, inputs
    seconds, outputs = recorded.get("seconds"), recorded.get("outputs", {})
    reasons = []
    if recorded.get("fingerprint") != fingerprint:
        old_settings = recorded.get("settings")
        if old_settings != json.loads(json.dumps(settings, default=str)):
            keys = sorted(k for k in {*(old_settings or {}), *settings}
                          if (old_settings or {}).get(k) != json.loads(json.dumps(settings, default=str)).get(k))
            reasons.append("settings changed: " + ", ".join(keys) if keys else "settings changed")
        old_inputs = recorded.get("inputs", {})
        changed = sorted(k for k in {*old_inputs, *inputs} if old_inputs.get(k) != inputs.get(k))
        if changed:
            reasons.append(f"{len(changed)} input file(s) changed, e.g. {changed[0]}")
    missing = [name for name in outputs if not (study.output_dir / name).is_file()]
    if missing:
        reasons.append(f"{len(missing)} output(s) missing, e.g. {missing[0]}")
    else:
        modified = [name for name, digest in outputs.items() if sha256_file(study.output_dir / name) != digest]
        if modified:
            reasons.append(f"{len(modified)} output(s) modified since, e.g. {modified[0]}")
    if blocked and not reasons:
        reasons.append(f"upstream {blocked.stage} is {blocked.state}")
    if reasons:
        return StageState(stage.name, "stale", "; ".join(reasons), len(outputs), seconds), fingerprint, settings, inputs
    return StageState(stage.name, "done", "up to date", len(outputs), seconds), fingerprint, settings, inputs


def stage_states(study: Study) -> list[StageState]:
    """Every stage's state (done / stale / missing / unavailable) and why, without running anything."""
    recorded = read_manifest(study).get("stages", {})
    states: list[StageState] = []
    for stage in STAGES:
        state, *_ = _state(stage, study, recorded.get(stage.name), states)
        states.append(state)
    return states


def _record(study: Study, stage: Stage, fingerprint: str, settings: Any, inputs: dict[str, str],
            seconds: float) -> None:
    manifest = read_manifest(study)
    produced = [*stage.writes(study), *_files(study, *stage.extra_outputs)]
    manifest.update({"format": MANIFEST_FORMAT, "study": study.name, "study_sha256": _digest(_study_text(study)),
                     "versions": versions(), "seeds": _seeds(study)})
    manifest.setdefault("stages", {})[stage.name] = {
        "fingerprint": fingerprint, "settings": settings, "inputs": inputs,
        "outputs": _hashes(produced, study), "seconds": round(seconds, 3),
    }
    # keep the stages in pipeline order whatever order they ran in
    order = [s.name for s in STAGES]
    manifest["stages"] = dict(sorted(manifest["stages"].items(), key=lambda item: order.index(item[0])
                                     if item[0] in order else len(order)))
    write_json_atomic(study.output_dir / MANIFEST, manifest)


def _forget(study: Study, stage: Stage) -> None:
    manifest = read_manifest(study)
    if manifest.get("stages", {}).pop(stage.name, None) is not None:
        write_json_atomic(study.output_dir / MANIFEST, manifest)


# ----------------------------------------------------------------------------------------------
# Pieces: the units inside a stage that finish on their own


@dataclasses.dataclass(frozen=True)
class Piece:
    """One unit of a stage's work that resumes on its own (a cluster runs one per array task).

    Attributes:
        kind: one of :data:`PIECE_KINDS`.
        label: what it works on, e.g. ``znunu/nominal shard 1``.
        outputs: the files (or folder) it makes.
        state: ``() -> (done, why not)`` from the files on disk, by the very checks the stage's own
            resume uses; ``why`` is empty when the piece was simply not made yet.
    """

    kind: str
    label: str
    outputs: tuple[Path, ...]
    state: Callable[[], tuple[bool, str]] = dataclasses.field(compare=False, repr=False)


#: the kinds of pieces, in pipeline order; ``gridpack``: the MadGraph backend's integration of a point,
#: which its seed chunks (``generation`` pieces) need first
PIECE_KINDS = ("gridpack", "generation", "features", "datasets", "training")


def _output_state(check: Callable[[], list[str]], path: Path) -> tuple[bool, str]:
    """A finished file of generation: present and made from this configuration."""
    if not path.exists():
        return False, ""
    try:
        problems = check()
    except DarkscanError as exc:  # not an event table at all
        return False, str(exc)
    return not problems, "; ".join(problems)


def stage_pieces(study: Study, kind: str) -> list[Piece]:
    """The pieces of one kind (:data:`PIECE_KINDS`), in the order the stage makes them.

    The one definition of "this piece is done" for local resume and for cluster tasks alike.
    """
    if kind == "gridpack":
        if study.generator.backend != "madgraph" or not study.generator.gridpack:
            return []
        from darkscan.gen.madgraph import gridpack_path, study_chunks

        firsts = [t for t in study_chunks(study) if t.chunk == 0]
        return [Piece(kind, f"{t.sample}/{t.point_id} gridpack", (path,), lambda path=path: (path.is_file(), ""))
                for t, path in ((t, gridpack_path(t)) for t in firsts)]
    if kind == "generation":
        if study.generator.backend == "embedded":
            from darkscan.gen import embedded

            return [Piece(kind, f"{t.sample}/{t.point_id} shard {t.shard}", (Path(t.output),),
                          lambda t=t: _output_state(lambda: embedded.stale(t), Path(t.output)))
                    for t in embedded.study_shards(study)]
        from darkscan.gen import madgraph

        return [Piece(kind, f"{t.sample}/{t.point_id} chunk {t.chunk}", (t.output,),
                      lambda t=t: _output_state(lambda: madgraph.stale(t), t.output))
                for t in madgraph.study_chunks(study)]
    if kind == "features":
        from darkscan.analysis.features import point_features_state
        from darkscan.analysis.selection import study_cuts

        cuts = study_cuts(study.selection.preset, study.selection.cuts)

        def features_state(directory: Path) -> tuple[bool, str]:
            state, _ = point_features_state(directory, cuts=cuts, luminosity_fb=study.luminosity_fb)
            return state == "up to date", ("older than its event files or the selection" if state == "stale" else "")

        return [Piece(kind, f"{p.sample}/{p.point_id}", (p.directory / "features.parquet",),
                      lambda d=p.directory: features_state(d)) for p in study.plan()]
    if kind == "datasets":
        from darkscan.datasets.build import dataset_state

        return [Piece(kind, t.name, (study.output_dir / "datasets" / f"{t.name}.h5",),
                      lambda name=t.name: dataset_state(study, name)) for t in study.training]
    if kind == "training":
        return [Piece(kind, t.name, (study.output_dir / "models" / t.name,), lambda name=t.name: _training_state(study, name))
                for t in study.training]
    raise StudyError(f"unknown kind of piece {kind!r}: one of {', '.join(PIECE_KINDS)}")


def _training_state(study: Study, task_name: str) -> tuple[bool, str]:
    """Every unit of the task has its ``.keras`` and a sidecar for this dataset and these settings."""
    if not (study.output_dir / "datasets" / f"{task_name}.h5").exists():
        return False, ""
    from darkscan.ml.train import unfinished_units

    try:
        return not unfinished_units(study, task_name), ""
    except DarkscanError as exc:
        return False, str(exc)


# ----------------------------------------------------------------------------------------------
# Running


@dataclasses.dataclass
class StageResult:
    stage: str
    action: str  # "ran", "skipped" (up to date), "unavailable"
    seconds: float
    why: str = ""


def run_stage(study: Study, stage: Stage | str, context: StageContext | None = None, *,
              upstream: Sequence[StageState] = ()) -> StageResult:
    """Run one stage unless it is up to date; record it in the manifest when it finished completely.

    A partial run (``context.samples`` or ``context.tasks``) does the work but records nothing, so
    the stage stays stale until it is complete.

    Raises:
        DarkscanError: the stage's own errors; a stage that cannot run in this installation.
    """
    context = context or StageContext()
    if isinstance(stage, str):
        stage = select_stages(stage, stage)[0]
    recorded = read_manifest(study).get("stages", {}).get(stage.name)
    state, fingerprint, settings, inputs = _state(stage, study, recorded, list(upstream))
    if state.state == "unavailable":
        return StageResult(stage.name, "unavailable", 0.0, state.why)
    partial = bool(context.samples) or bool(context.tasks)
    if state.state == "done" and not context.force and not partial:
        return StageResult(stage.name, "skipped", 0.0, state.why)
    _forget(study, stage)  # an interrupted run must not leave the old record claiming "done"
    start = time.perf_counter()
    stage.run(study, context)
    seconds = time.perf_counter() - start
    if partial:
        return StageResult(stage.name, "ran", seconds, "partial (--sample/--task): not recorded")
    missing = [p for p in stage.writes(study) if not p.is_file()]
    if missing:
        raise DarkscanError(f"stage {stage.name} finished without writing {len(missing)} expected file(s), e.g. "
                            f"{missing[0]}")
    # the fingerprint of what it read before it ran: a stage that changes its own inputs is stale
    _record(study, stage, fingerprint, settings, inputs, seconds)
    return StageResult(stage.name, "ran", seconds, state.why)


def run_pipeline(study: Study, *, start: str | None = None, until: str | None = None,
                 context: StageContext | None = None,
                 on_stage: Callable[[int, int, Stage], None] | None = None) -> list[StageResult]:
    """Run the stages from ``start`` to ``until`` in order on ``study``, skipping those up to date.

    ``on_stage(i, n, stage)`` is called before each stage (for a progress display). Returns what
    happened to each stage.
    """
    context = context or StageContext()
    stages = select_stages(start, until)
    results: list[StageResult] = []
    names = [s.name for s in stages]
    for stage in STAGES:
        if stage.name not in names:
            if STAGES.index(stage) < STAGES.index(stages[0]):
                continue  # upstream of --from: taken as it is on disk
            break
        if on_stage is not None:
            on_stage(names.index(stage.name), len(stages), stage)
        result = run_stage(study, stage, context)
        results.append(result)
        if result.action == "unavailable":
            context.log(f"{stage.name}: not run ({result.why})")
        elif result.action == "skipped":
            context.log(f"{stage.name}: up to date, skipped")
    return results
