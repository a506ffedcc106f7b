"""The MadGraph backend: MG5_aMC → Pythia 8 → fast detector or Delphes, per sample × scan point.

For each point the backend renders the point's cards (the same files ``darkscan cards render``
writes into ``<point>/cards/``), runs the MG5 script through an :mod:`executor
<darkscan.gen.executors>` in a fresh working folder, checks the Les Houches file it left (exists,
non-empty, parses, has events and a positive σ), showers it with Pythia 8 in-process and simulates
the detector:

- ``detector.simulation: fast`` — the embedded fast detector (the ``gen shower`` path), one event
  table ``events/shard-NNNNN.parquet``;
- ``detector.simulation: delphes`` — Pythia 8 → HepMC3 (σ of the LHE sample in its
  ``GenCrossSection``, so Delphes' ``Event.CrossSection`` carries it) → ``DelphesHepMC3`` with the
  rendered ``delphes_card.tcl`` → ``events/delphes-NNNNN.root``.

Either lands atomically in the point's ``events/`` folder, where ``histos features`` finds it. The
LHE file is kept beside, in ``<point>/madgraph/`` (not in ``events/``: the features would count it
twice), with one log per step in ``<point>/madgraph/logs/``. Every finished chunk has a record
``events/<name>.record.json`` (written before the events file) with the executor, image tag and
digest, the MG5 script's sha256 and σ.

**Resume** follows the embedded backend's rule: an events file that exists is finished and is
skipped; one made from other cards (another seed, event count, parameter, cut or detector) is
refused with the reason rather than reused.

**Gridpacks** (``generator.gridpack: true``): MG5 integrates once with ``set gridpack True``
(``<point>/madgraph/gridpack-<script sha256>.tar.gz``), then each chunk of ``generator.shard_events``
events is one run of the gridpack's ``run.sh N SEED`` with its own seed — one task per seed chunk,
callable on its own (:func:`run_chunk`) for batch systems.

σ is the LHE sample's (:func:`darkscan.gen.shower.lhe_cross_section`): MG5's Integrated weight, or
the ``<init>`` block when the banner has none.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tarfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from darkscan.errors import ExternalProgramError, StudyError
from darkscan.gen.executors import Executor, LocalExecutor, make_executor, run_step

__all__ = [
    "ChunkTask",
    "events_path",
    "gridpack_path",
    "plan_chunks",
    "run_chunk",
    "run_gridpack",
    "run_study",
    "stale",
    "study_chunks",
    "study_executor",
    "write_hepmc",
]

#: MG5 leaves the events of the first launch here, relative to its working folder
_LHE = Path("mg5") / "Events" / "run_01" / "unweighted_events.lhe.gz"
#: one MG5 run (integration + event generation) of a LO 2 → 3 process takes 15–60 s here; a
#: loop-induced one ~10 min; a gridpack chunk a few seconds
DEFAULT_TIMEOUT_S = 6 * 3600.0


@dataclasses.dataclass(frozen=True)
class ChunkTask:
    """One sample point (or one seed chunk of it, with a gridpack): everything a worker needs."""

    sample: str
    process: str
    point_id: str
    parameters: dict[str, Any]
    generation_cuts: dict[str, float]
    point_directory: str
    #: the rendered cards of the point (``madgraph.mg5``, ``delphes_card.tcl``, ``sample.json``)
    cards_directory: str
    point_seed: int
    chunk: int
    first_event: int
    n_events: int
    #: ``fast`` or ``delphes``
    simulation: str
    preset: str
    detector_params: str | None
    invisible_pdgids: tuple[int, ...]
    gridpack: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def seed(self) -> int:
        """MG5's and Pythia's seed of this chunk (the point's seed for chunk 0, as the rendered script)."""
        from darkscan.gen.pythia import shard_seed

        return self.point_seed if self.chunk == 0 else shard_seed(self.point_seed, self.chunk)

    @property
    def output(self) -> Path:
        return events_path(Path(self.point_directory), self.chunk, self.simulation)

    @property
    def record_path(self) -> Path:
        return self.output.with_name(self.output.name.split(".")[0] + ".record.json")


def events_path(point_directory: Path, chunk: int, simulation: str) -> Path:
    name = f"shard-{chunk:05d}.parquet" if simulation == "fast" else f"delphes-{chunk:05d}.root"
    return Path(point_directory) / "events" / name


def plan_chunks(n_events: int, chunk_events: int, gridpack: bool) -> list[tuple[int, int, int]]:
    """``(chunk, first_event, n_events)``: one chunk per point without a gridpack, else one per seed chunk."""
    if not gridpack:
        return [(0, 0, n_events)]
    return [(i, first, min(chunk_events, n_events - first))
            for i, first in enumerate(range(0, n_events, chunk_events))]


def _fingerprint(task: ChunkTask) -> dict[str, Any]:
    """What a finished chunk must have been made from to be reused."""
    from darkscan.io import sha256_file

    manifest = json.loads((Path(task.cards_directory) / "sample.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {
        "mg5_script_sha256": manifest["files"]["madgraph.mg5"],
        "seed": task.seed, "first_event": task.first_event, "n_events": task.n_events,
        "gridpack": task.gridpack, "simulation": task.simulation,
    }
    if task.simulation == "delphes":
        out["delphes_card_sha256"] = manifest["files"]["delphes_card.tcl"]
    else:
        from darkscan.gen.detector import load_detector_params

        out["preset"] = task.preset
        out["detector_params_sha256"] = sha256_file(load_detector_params(task.detector_params).path)
    return out


def stale(task: ChunkTask) -> list[str]:
    """Why the finished chunk on disk does not belong to ``task`` (empty when it does)."""
    try:
        found = json.loads(task.record_path.read_text(encoding="utf-8")).get("fingerprint", {})
    except (OSError, ValueError):
        found = {}
    expected = _fingerprint(task)
    differs = [f"{key} {found.get(key)!r} (study says {value!r})" for key, value in expected.items()
               if found.get(key) != value]
    if not differs:
        return []
    return [f"{task.output}: finished events from a different configuration — {', '.join(differs)}; delete that "
            "point's events/ folder (or set a new study `output`) to regenerate"]


# ----------------------------------------------------------------------------------------------
# MG5


def _mg5_script(task: ChunkTask, gridpack: bool) -> str:
    """The rendered script, with ``set run_card gridpack True`` before its final ``done`` for a gridpack."""
    text = (Path(task.cards_directory) / "madgraph.mg5").read_text(encoding="utf-8")
    if not gridpack:
        return text
    lines = text.rstrip("\n").split("\n")
    if lines[-1].strip() != "done":
        raise StudyError(f"{task.cards_directory}/madgraph.mg5: expected the script to end with `done`")
    return "\n".join([*lines[:-1], "set run_card gridpack True", "done"]) + "\n"


def _check_lhe(path: Path, log: Path) -> tuple[float, float, int]:
    """σ, its error and the number of events of MG5's LHE output; fail naming the log when unusable."""
    from darkscan.gen.shower import lhe_cross_section
    from darkscan.readers.lhe import LHEFile

    if not path.is_file() or path.stat().st_size == 0:
        raise ExternalProgramError(f"MG5 left no events ({path} is missing or empty); log {log}:\n"
                                   + _tail(log))
    try:
        sigma, error = lhe_cross_section(path)
        with LHEFile(path) as lhe:
            n = sum(len(chunk) for chunk in lhe.iterate(filter_name="eventinfo"))
    except Exception as exc:  # a truncated or malformed file: say which and where the log is
        raise ExternalProgramError(f"{path}: MG5's event file does not parse ({exc}); log {log}") from None
    if n == 0 or not sigma > 0:
        raise ExternalProgramError(f"{path}: MG5 wrote {n} events with σ = {sigma:g} pb; log {log}:\n{_tail(log)}")
    return sigma, error, n


def _tail(log: Path) -> str:
    from darkscan.gen.executors import log_tail

    return log_tail(log)


def _madgraph_dir(task: ChunkTask) -> Path:
    return Path(task.point_directory) / "madgraph"


def _fresh(folder: Path) -> Path:
    """An empty working folder (a previous, unfinished attempt's is removed: MG5 will not reuse it)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


#: MG5 3.5.7 compiles a process folder's libraries with parallel make; now and then a subprocess links
#: against libgammaUPC.a before its index is written ("archive has no index", seen once in CI's Slurm
#: tier). A race, not a broken setup: a rerun in a fresh folder compiles cleanly.
_MG5_COMPILE_RACE = "archive has no index"


def _run_mg5(executor: Executor, script: str, work: Path, log: Path, timeout_s: float) -> None:
    """MG5 on ``script`` in the empty folder ``work``; rerun once, in ``work`` emptied again, when the
    failure is the compilation race above (the first attempt's log is kept beside, ``*-attempt1.log``)."""
    for attempt in (1, 2):
        (work / "madgraph.mg5").write_text(script, encoding="utf-8")
        try:
            run_step(executor, executor.mg5_command("madgraph.mg5"), workdir=work, log=log, timeout_s=timeout_s,
                     binds=[work], mg5_log=True)
            return
        except ExternalProgramError:
            if attempt == 2 or _MG5_COMPILE_RACE not in log.read_text(encoding="utf-8", errors="replace"):
                raise
        log.replace(log.with_name(f"{log.stem}-attempt1{log.suffix}"))
        _fresh(work)


def gridpack_path(task: ChunkTask) -> Path:
    """Where the point's gridpack is kept; named after the script it integrates, so a changed card never
    reuses an old gridpack."""
    script = _mg5_script(task, gridpack=True)
    return _madgraph_dir(task) / f"gridpack-{hashlib.sha256(script.encode()).hexdigest()[:16]}.tar.gz"


def run_gridpack(task: ChunkTask, executor: Executor, *, work_dir: Path | None = None) -> Path:
    """Integrate the point once with ``set gridpack True``; returns the gridpack (kept for every chunk).

    ``work_dir``: where MG5 works (node-local scratch on a cluster); default the point's ``madgraph/``.
    """
    from darkscan.io import atomic_path

    script = _mg5_script(task, gridpack=True)
    target = gridpack_path(task)
    if target.is_file():
        return target
    work = _fresh(Path(work_dir or _madgraph_dir(task)) / "integrate").absolute()
    log = _madgraph_dir(task) / "logs" / "mg5-gridpack.log"
    _run_mg5(executor, script, work, log, task.timeout_s)
    made = work / "mg5" / "run_01_gridpack.tar.gz"
    if not made.is_file() or made.stat().st_size == 0:
        raise ExternalProgramError(f"MG5 left no gridpack ({made} is missing or empty); log {log}:\n{_tail(log)}")
    try:
        with tarfile.open(made) as archive:
            if "./run.sh" not in archive.getnames() and "run.sh" not in archive.getnames():
                raise ExternalProgramError(f"{made}: not a gridpack (no run.sh); log {log}")
    except tarfile.TarError as exc:
        raise ExternalProgramError(f"{made}: unreadable gridpack ({exc}); log {log}") from None
    with atomic_path(target) as tmp:
        shutil.copyfile(made, tmp)
    shutil.rmtree(work)
    return target


def _generate_lhe(task: ChunkTask, executor: Executor, work: Path) -> Path:
    """MG5 events of this chunk in ``work``: the rendered script, or a gridpack run with the chunk's seed."""
    logs = _madgraph_dir(task) / "logs"
    if not task.gridpack:
        log = logs / f"mg5-{task.chunk:05d}.log"
        _run_mg5(executor, _mg5_script(task, gridpack=False), work, log, task.timeout_s)
        _check_lhe(work / _LHE, log)
        return work / _LHE
    gridpack = run_gridpack(task, executor)
    with tarfile.open(gridpack) as archive:
        archive.extractall(work, filter="tar")
    log = logs / f"gridpack-{task.chunk:05d}.log"
    run_step(executor, ["./run.sh", str(task.n_events), str(task.seed)], workdir=work, log=log,
             timeout_s=task.timeout_s, binds=[work])
    _check_lhe(work / "events.lhe.gz", log)
    return work / "events.lhe.gz"


# ----------------------------------------------------------------------------------------------
# Pythia 8 → HepMC3 (for Delphes)


def _hepmc_status(status: Any) -> Any:
    """Pythia status → HepMC3 status as Pythia's own HepMC interface: 1 final, 4 beam, 2 decayed, else |status|."""
    import numpy as np

    out = np.abs(status).astype(np.int32)
    out[status > 0] = 1
    out[np.abs(status) == 12] = 4
    out[(status < 0) & (np.abs(status) >= 81)] = 2
    return out


def write_hepmc(lhe: Path, output: Path, *, preset: str, seed: int, sigma_pb: float, sigma_error_pb: float,
                max_events: int | None = None, on_batch: Callable[[int], None] | None = None) -> int:
    """Shower ``lhe`` with Pythia 8 and write HepMC3 ASCII (the full record, σ in ``GenCrossSection``)."""
    import awkward as ak
    import numpy as np
    import pyhepmc

    from darkscan.gen.pythia import _QUIET, base_settings
    from darkscan.gen.shower import _pythia_for

    settings = tuple(s for s in base_settings(13000.0, preset, seed) if not s.startswith("Beams:eCM"))
    pythia = _pythia_for(lhe, (*_QUIET, *settings))
    if pythia is None:
        raise ExternalProgramError(f"{lhe}: Pythia could not initialise from this LHE file")
    written = 0
    with pyhepmc.open(output, "w") as writer:
        while max_events is None or written < max_events:
            want = 200 if max_events is None else min(200, max_events - written)
            batch = pythia.nextBatch(want, "skip")
            for event in batch:
                prt = event["prt"][1:]  # Pythia's entry 0 is the whole system, not a particle
                p = prt["p"]
                # The history from the daughters, not the mothers: Pythia's ISR initiators come after the
                # hard-process partons they are mothers of, and a record built from those forward mother
                # links has vertices DelphesHepMC3 miscounts (it then drops the event without a word).
                # Pythia's indices with entry 0 dropped are HEPEVT's one-based ones; a reversed pair (two
                # separate daughters) has no HEPEVT range: keep the first.
                daughters = np.stack([ak.to_numpy(prt["daughter1"]), ak.to_numpy(prt["daughter2"])], axis=1)
                reversed_pair = (daughters[:, 1] > 0) & (daughters[:, 1] < daughters[:, 0])
                daughters[reversed_pair, 1] = daughters[reversed_pair, 0]
                genevent = pyhepmc.GenEvent(pyhepmc.Units.GEV, pyhepmc.Units.MM)
                genevent.from_hepevt(
                    written, ak.to_numpy(p["px"]), ak.to_numpy(p["py"]), ak.to_numpy(p["pz"]), ak.to_numpy(p["e"]),
                    ak.to_numpy(prt["m"]), ak.to_numpy(prt["id"]).astype(np.int32),
                    _hepmc_status(ak.to_numpy(prt["status"])), children=daughters.astype(np.int32), fortran=True)
                weights = list(event["info"]["weights"]) or [1.0]
                genevent.weights = [float(weights[0])]
                xs = pyhepmc.GenCrossSection()
                xs.set_cross_section(sigma_pb, sigma_error_pb, written + 1, written + 1)
                genevent.cross_section = xs
                writer.write(genevent)
                written += 1
            if on_batch is not None and len(batch):
                on_batch(len(batch))
            if len(batch) < want or pythia.infoPython().atEndOfFile():
                break
    if written == 0:
        raise ExternalProgramError(f"{lhe}: Pythia showered no events")
    return written


# ----------------------------------------------------------------------------------------------
# One chunk: the function a batch system calls


def run_chunk(task: ChunkTask, executor: Executor, *, on_events: Callable[[int], None] | None = None,
              work_dir: Path | None = None) -> dict[str, Any]:
    """MG5 (or a gridpack run) → Pythia 8 → detector for one chunk; the events land atomically in
    ``task.output``, with ``task.record_path`` beside it. Returns the record.

    ``work_dir``: where the programs work (node-local scratch on a cluster); default the point's ``madgraph/``.
    """
    from darkscan.gen.shower import lhe_cross_section, shower_lhe
    from darkscan.io import atomic_path, sha256_file, write_json_atomic

    start = time.perf_counter()
    # absolute: the working folder is bound at the same path into a container, and Delphes' paths are in it
    work = _fresh(Path(work_dir or _madgraph_dir(task)) / f"run-{task.chunk:05d}").absolute()
    lhe = _generate_lhe(task, executor, work)
    sigma, sigma_error = lhe_cross_section(lhe)
    kept_lhe = _madgraph_dir(task) / f"unweighted_events-{task.chunk:05d}.lhe.gz"
    with atomic_path(kept_lhe) as tmp:
        shutil.copyfile(lhe, tmp)
    record: dict[str, Any] = {
        "sample": task.sample, "process": task.process, "point_id": task.point_id,
        "parameters": task.parameters, "generation_cuts": task.generation_cuts,
        "chunk": task.chunk, "seed": task.seed, "n_events": task.n_events,
        "executor": executor.record(), "fingerprint": _fingerprint(task),
        "lhe_file": str(kept_lhe.resolve()), "lhe_sha256": sha256_file(kept_lhe),
        "cross_section_pb": sigma, "cross_section_error_pb": sigma_error,
        "simulation": task.simulation, "logs": str((_madgraph_dir(task) / "logs").resolve()),
    }
    if task.simulation == "fast":
        produced = work / "events.parquet"
        result = shower_lhe(kept_lhe, produced, preset=task.preset, seed=task.seed,
                            invisible_pdgids=task.invisible_pdgids, detector_params=task.detector_params,
                            sample=task.sample, on_batch=on_events)
        record["n_accepted"] = result["events"]
    else:
        hepmc = work / "events.hepmc"
        showered = write_hepmc(kept_lhe, hepmc, preset=task.preset, seed=task.seed, sigma_pb=sigma,
                               sigma_error_pb=sigma_error, on_batch=on_events)
        produced = work / "delphes.root"
        log = _madgraph_dir(task) / "logs" / f"delphes-{task.chunk:05d}.log"
        # Delphes resolves the card's `source cards/<stock card>.tcl` against the card's own folder: run a
        # copy beside a link to the stock cards of the Delphes that runs it (inside an image, the link
        # resolves there)
        card = work / "delphes_card.tcl"
        shutil.copyfile(Path(task.cards_directory) / "delphes_card.tcl", card)
        (work / "cards").symlink_to(executor.delphes_workdir() / "cards")
        run_step(executor, executor.delphes_command(card, produced, hepmc), workdir=executor.delphes_workdir(),
                 log=log, timeout_s=task.timeout_s, binds=[work])
        record["n_accepted"] = _check_delphes(produced, log, task.invisible_pdgids, expected=showered)
        hepmc.unlink()
    record["seconds"] = time.perf_counter() - start
    # the record first, then the events: an events file on disk always has its record
    write_json_atomic(task.record_path, record)
    # a rename within one file system; from node-local scratch a copy beside the target, then the rename
    with atomic_path(task.output) as tmp:
        shutil.move(produced, tmp)
    shutil.rmtree(work)
    return record


def _check_delphes(path: Path, log: Path, invisible: tuple[int, ...], expected: int) -> int:
    from darkscan.readers.sources import load_event_table

    if not path.is_file() or path.stat().st_size == 0:
        raise ExternalProgramError(f"Delphes left no output ({path} is missing or empty); log {log}:\n{_tail(log)}")
    try:
        events, _ = load_event_table(path, invisible_pdgids=invisible)
    except Exception as exc:
        raise ExternalProgramError(f"{path}: Delphes output does not read back ({exc}); log {log}") from None
    if len(events) != expected:
        # DelphesHepMC3 drops an event it cannot parse without saying so
        raise ExternalProgramError(f"{path}: Delphes wrote {len(events)} of the {expected} events it was given; "
                                   f"log {log}:\n{_tail(log)}")
    return len(events)


# ----------------------------------------------------------------------------------------------
# A whole study


def study_executor(study: Any, executor: str | None = None, image: str | None = None,
                   binds: tuple[Path, ...] = ()) -> Executor:
    """The study's executor (``generator.executor``/``image``, or these overrides); a container executor
    also binds ``binds`` (on a cluster: the study folder, the output folder and the task's scratch)."""
    base = study.source.parent if study.source is not None else Path.cwd()

    def resolve(path: Path | None) -> Path | None:
        if path is None:
            return None
        path = Path(path).expanduser()
        return path if path.is_absolute() else (base / path).resolve()

    kind, chosen = executor or study.generator.executor, image or study.generator.image
    if kind == "apptainer" and image is None and chosen and "://" not in chosen:
        chosen = str(resolve(Path(chosen)))  # the study's .sif beside it, wherever the task runs
    return make_executor(kind, image=chosen, mg5=resolve(study.generator.mg5_path),
                         delphes=resolve(study.detector.delphes_path), binds=binds)


def _tasks(study: Any, points: list[Any]) -> list[ChunkTask]:
    from darkscan.cards.render import render_study_cards
    from darkscan.gen.detector import load_detector_params
    from darkscan.registry import get_process

    params = None
    if study.detector.params is not None:
        params = Path(study.detector.params)
        if not params.is_absolute() and study.source is not None:
            params = study.source.parent / params
        params = params.resolve()
        load_detector_params(params)  # a broken file fails here, before any work
    render_study_cards(study)  # deterministic and atomic: unchanged cards are rewritten byte for byte
    tasks = []
    for point in points:
        for chunk, first, n in plan_chunks(point.n_events, study.generator.shard_events, study.generator.gridpack):
            tasks.append(ChunkTask(
                sample=point.sample, process=point.process, point_id=point.point_id,
                parameters=dict(point.parameters), generation_cuts=dict(point.generation_cuts),
                point_directory=str(point.directory), cards_directory=str(point.directory / "cards"),
                point_seed=point.seed, chunk=chunk, first_event=first, n_events=n,
                simulation=study.detector.simulation, preset=study.generator.preset,
                detector_params=str(params) if params else None,
                invisible_pdgids=tuple(get_process(point.process).invisible_pdgids),
                gridpack=study.generator.gridpack,
            ))
    return tasks


def study_chunks(study: Any) -> list[ChunkTask]:
    """Every chunk of every sample point, in the order :func:`run_study` plans them (renders the cards).

    A chunk's position in this list is its array-task index on a cluster (``darkscan submit``).
    """
    if study.generator.backend != "madgraph":
        raise StudyError(f"{study.source}: generator.backend is {study.generator.backend!r}; only the madgraph "
                         "backend is generated in MG5 chunks")
    return _tasks(study, study.plan())


def run_study(study: Any, *, samples: list[str] | None = None, executor: str | None = None,
              image: str | None = None, progress: Any = None) -> dict[str, Any]:
    """Run every chunk of every (selected) sample point that is not on disk yet; a summary like the
    embedded backend's (``shards``, ``skipped``, ``done``, ``warnings``)."""
    plan = study.plan()
    if samples:
        unknown = sorted(set(samples) - {p.sample for p in plan})
        if unknown:
            raise StudyError(f"unknown sample(s) {unknown}; the study has {sorted({p.sample for p in plan})}")
    points = [p for p in plan if samples is None or p.sample in samples]
    runner = study_executor(study, executor, image)
    tasks = _tasks(study, points)
    problems = [problem for t in tasks if t.output.exists() for problem in stale(t)]
    if problems:
        raise StudyError(*problems)
    todo = [t for t in tasks if not t.output.exists()]
    summary: dict[str, Any] = {"shards": len(tasks), "skipped": len(tasks) - len(todo), "done": 0, "warnings": [],
                               "records": []}
    if not todo:
        return summary
    if isinstance(runner, LocalExecutor):  # a missing installation fails here, before any work
        runner.mg5_home()
        if study.detector.simulation == "delphes":
            runner.delphes_home()
    if progress is None:
        from darkscan.datasets.build import NullProgress

        progress = NullProgress()
    bar = progress.add_task("madgraph chunks", total=len(todo))
    for task in todo:
        record = run_chunk(task, runner)
        summary["done"] += 1
        summary["records"].append(record)
        progress.advance(bar)
    return summary
