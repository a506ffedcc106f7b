"""The study file: one YAML file describes a whole study, and every command takes it.

:func:`load_study` reads and validates a study file into a :class:`Study`; any problem raises a
:class:`~darkscan.errors.StudyError` with one line per problem naming the file, the field path
(``samples[2].scan.m_med``), the bad value and what is allowed. :meth:`Study.plan` expands the
samples into :class:`SamplePoint` s: every sample × scan point with its parameters, seed and
output directory.

A minimal study::

    name: monojet
    samples:
      - {name: znunu, process: sm_znunu_jet}
      - name: spin1
        process: spin1_monojet
        parameters: {m_dm: 10}
        scan: {m_med: [500, 1000, 2000]}

Units: GeV for masses, widths, momenta and cuts; pb for cross sections; fb⁻¹ for luminosity.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from darkscan.errors import StudyError, did_you_mean
from darkscan.widths import resolve_widths

if TYPE_CHECKING:
    from darkscan.registry import Process

__all__ = [
    "GENERATION_CUTS",
    "generation_cut_problems",
    "SELECTION_PRESETS",
    "SamplePoint",
    "Study",
    "load_study",
    "parse_study",
]

#: MG5 run-card generation cuts a sample may set (GeV); the embedded backend maps the jet cuts to
#: Pythia's ``PhaseSpace:pTHatMin``.
GENERATION_CUTS = {
    "ptj": "minimum jet pT",
    "ptj1min": "minimum leading-jet pT",
    "xptj": "minimum pT of at least one jet",
    "ptl": "minimum charged-lepton pT",
    "etaj": "maximum jet |η|",
    "etal": "maximum charged-lepton |η|",
    "mmll": "minimum dilepton invariant mass",
    "mmllmax": "maximum dilepton invariant mass",
    "drll": "minimum ΔR between leptons",
    "misset": "minimum MET from SM neutrinos only (no DM cut!)",
}

_NEUTRINOS = re.compile(r"(?<![\w~])(vl|ve|vm|vt)~?(?![\w~])")
_JET = re.compile(r"(?<![\w~])j(?![\w~])")
_JET_CUTS = ("ptj", "ptj1min", "xptj", "etaj")


def generation_cut_problems(process: Process, cuts: Mapping[str, float]) -> Iterator[tuple[str, str]]:
    """(cut, why) for generation cuts that would do nothing or remove every event for ``process``.

    ``misset`` is the pT of the SM neutrinos of the matrix element: a process without them (every DM
    signal, tt̄ with undecayed tops) has none, so ``misset > 0`` rejects every event. A jet cut on a
    process with no jet in its final state (``p p > t t~``, dibosons) is ignored by MG5 and has
    nothing to act on in the embedded generator either.
    """
    if cuts.get("misset", 0.0) > 0 and not any(_NEUTRINOS.search(line) for line in process.mg5_processes):
        yield "misset", (f"{process.name}: misset = {cuts['misset']:g} GeV would reject every event: MG5's misset is "
                         "the pT of the SM neutrinos of the matrix element and this process has none (dark matter "
                         "is not counted); cut on the jet (ptj, xptj, ptj1min) or the leptons instead")
    if not any(_JET.search(line.split(",")[0]) for line in process.mg5_processes):
        for key in _JET_CUTS:
            if key in cuts:
                yield key, (f"{process.name}: {process.mg5_processes[0]!r} has no jet in its final state, so a {key} "
                            "cut does nothing (MG5 ignores it); remove it")


#: Selection presets (defined in :mod:`darkscan.analysis.selection`).
SELECTION_PRESETS = ("none", "atlas_monojet", "atlas_monoz")

#: Pythia's seed range is [0, 900 000 000].
MAX_SEED = 900_000_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _scan_values(value: Any) -> Any:
    """A scan is a list of values, or ``{start, stop, num}`` (linspace) / ``{start, stop, step}``."""
    if isinstance(value, Mapping):
        keys = set(value)
        if keys == {"start", "stop", "num"}:
            num = value["num"]
            if not isinstance(num, int) or num < 1:
                raise ValueError(f"num must be a positive integer, got {num!r}")
            start, stop = float(value["start"]), float(value["stop"])
            if num == 1:
                return [start]
            return [start + (stop - start) * i / (num - 1) for i in range(num)]
        if keys == {"start", "stop", "step"}:
            start, stop, step = (float(value[k]) for k in ("start", "stop", "step"))
            if step <= 0 or stop < start:
                raise ValueError(f"need step > 0 and stop ≥ start, got {dict(value)}")
            n = int(math.floor((stop - start) / step + 1e-9)) + 1
            return [start + i * step for i in range(n)]
        raise ValueError(f"a scan is a list of values or a mapping with keys start, stop and num (or step); got keys {sorted(keys)}")
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError("a scan needs at least one value")
        return list(value)
    raise ValueError(f"a scan is a list of values or {{start, stop, num}}, got {value!r}")


def _parameter_value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a parameter value is a number (or \"auto\" for a width), got {value!r}")
    return value


ScanValues = Annotated[list[float], BeforeValidator(_scan_values)]
ParameterValue = Annotated[Union[float, str], BeforeValidator(_parameter_value)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")]


class Collider(_Strict):
    """Proton–proton collisions at ``sqrt_s_gev`` (GeV)."""

    sqrt_s_gev: float = Field(13000.0, gt=0)


class Generator(_Strict):
    """How events are generated.

    ``backend``: ``embedded`` (Pythia 8 in-process + fast detector, needs nothing but pip) or
    ``madgraph`` (MG5_aMC → Pythia 8 → Delphes in a container). ``preset``: ``fast`` (MPI off) or
    ``full`` (Pythia defaults). ``n_events`` per sample point; ``shard_events`` per output file.
    """

    backend: Literal["embedded", "madgraph"] = "embedded"
    preset: Literal["fast", "full"] = "fast"
    n_events: int = Field(10_000, gt=0)
    seed: int = Field(1, ge=0, le=MAX_SEED)
    shard_events: int = Field(5_000, gt=0)
    workers: int = Field(1, gt=0)
    #: madgraph backend: where MG5_aMC and Delphes run (``local``: installed here; else the darkscan
    #: image under that container runtime, see containers/README.md)
    executor: Literal["local", "docker", "podman", "apptainer"] = "local"
    #: the container image (``darkscan:0.1.0``, or a ``.sif`` file for apptainer)
    image: str | None = None
    #: the local MG5_aMC folder (default: ``mg5_aMC`` on PATH, else ``.ci/install-mg5``'s folder)
    mg5_path: Path | None = None
    #: integrate each point once into a gridpack, then one MG5 run per ``shard_events`` seed chunk
    gridpack: bool = False


class Detector(_Strict):
    """Detector simulation: the embedded fast detector's parameter file, the Delphes card."""

    preset: Literal["atlas"] = "atlas"
    #: a fast-detector parameter file replacing the preset's (YAML)
    params: Path | None = None
    #: stock Delphes card name inside the container, or a path to a card
    delphes_card: str = "delphes_card_ATLAS.tcl"
    #: madgraph backend: ``fast`` (the embedded fast detector) or ``delphes`` (DelphesHepMC3 with the card)
    simulation: Literal["fast", "delphes"] = "fast"
    #: the local Delphes folder (default: ``DelphesHepMC3`` on PATH, else ``.ci/install-delphes``'s folder)
    delphes_path: Path | None = None


class Sample(_Strict):
    """One process of the registry, at fixed parameters or over a scan."""

    name: Name
    process: str
    role: Literal["signal", "background"] | None = None
    parameters: dict[str, ParameterValue] = {}
    scan: dict[str, ScanValues] = {}
    #: ``grid``: every combination of the scan lists; ``zip``: the lists in step (equal lengths)
    scan_mode: Literal["grid", "zip"] = "grid"
    n_events: int | None = Field(None, gt=0)
    generation_cuts: dict[str, float] = {}


class Cut(_Strict):
    """``min ≤ feature < max`` (on ``|feature|`` when ``abs``)."""

    feature: str
    min: float | None = None
    max: float | None = None
    abs: bool = False


class Selection(_Strict):
    preset: Literal["none", "atlas_monojet", "atlas_monoz"] = "none"
    cuts: list[Cut] = []


class Axis(_Strict):
    feature: str
    bins: int = Field(gt=0, le=10_000)
    range: tuple[float, float]
    log: bool = False


class Histogram(_Strict):
    """``1d``: each axis is one channel of a stacked 1D array; ``2d``: an image over two axes."""

    name: Name
    kind: Literal["1d", "2d"]
    axes: list[Axis] = Field(min_length=1)


class Datasets(_Strict):
    """Histogram datasets: SM-only vs SM + signal at each S/√B."""

    s_over_sqrt_b: list[Annotated[float, Field(gt=0)]] = [1.0, 2.0, 3.0]
    #: mean number of background events B per histogram
    background_events: int = Field(50_000, gt=0)
    #: histograms per class and S/√B
    n_histograms: int = Field(20_000, gt=0)
    #: ``poisson``: B and S Poisson-fluctuated per histogram; ``normalise``: also divide by the total
    counts: Literal["poisson", "normalise"] = "poisson"
    #: events per "pure" image (one process only)
    pure_events: int = Field(1_000, gt=0)
    #: histograms per scan point in regression datasets
    histograms_per_point: int = Field(1, gt=0)
    seed: int = Field(1, ge=0)


class TrainingTask(_Strict):
    name: Name
    labels: Literal["binary", "multimodel", "multiclass", "pure", "regression"]
    signals: list[str] = Field(min_length=1)
    #: the histogram the dataset is made of (every network but ``event_dnn``)
    histogram: str | None = None
    #: ``dnn`` (dense), ``cnn`` (Conv2D on images; Conv1D on stacked 1D channels), ``cnn1d`` (Conv1D);
    #: regression always uses the Conv mass regressor with the DM-candidate one-hot (see darkscan.ml.networks);
    #: ``event_dnn``: a dense network on the ``features`` of single selected events (darkscan.datasets.events)
    network: Literal["dnn", "cnn", "cnn1d", "event_dnn"] = "cnn"
    #: event_dnn: the feature-table columns the network reads, one input each
    features: list[str] = []
    #: event_dnn training weights: ``none`` (1 per event), ``physical`` (σ·L/ΣW of the event's sample),
    #: ``balanced`` (physical, then each class scaled to sum to the signal count of the part)
    weights: Literal["none", "physical", "balanced"] = "balanced"
    #: event_dnn: ``balanced`` multiplies each class's weights so that both classes weigh the same in total
    class_weight: Literal["none", "balanced"] = "none"
    #: regression target: a scanned parameter of the signal sample
    target: str | None = None
    #: maximum epochs (early stopping on the validation loss ends most runs sooner)
    epochs: int = Field(200, gt=0)
    batch_size: int = Field(128, gt=0)
    #: epochs without a lower validation loss before stopping; the best epoch's weights are kept
    patience: int = Field(20, gt=0)
    learning_rate: float = Field(1e-4, gt=0)
    #: hidden dense layers and their width (``dnn``; the Conv networks' dense head uses ``units``)
    layers: int = Field(3, ge=0, le=20)
    units: int = Field(20, gt=0)
    dropout: float = Field(0.2, ge=0, lt=1)
    #: Conv2D/Conv1D filters of the two convolution layers
    filters: tuple[int, int] | None = None
    #: train / validation / test fractions of each dataset group (sum 1)
    split: tuple[float, float, float] = (0.64, 0.16, 0.20)
    #: input scaling fitted on the training part: ``standard`` (per cell), ``log`` (log1p, then per cell), ``none``
    scaling: Literal["standard", "log", "none"] = "standard"
    #: training seed (None: ``datasets.seed``)
    seed: int | None = Field(None, ge=0)
    #: float16 compute with float32 weights (only pays on a GPU)
    mixed_precision: bool = False
    #: up to this many same-shaped networks of one task train side by side in one Keras model
    grid_size: int = Field(16, ge=1, le=256)


class Cluster(_Strict):
    """Slurm resources of each array task (``darkscan submit``; its flags override these).

    ``walltime`` is always passed: some clusters default to one minute. ``scratch``: node-local work
    folder (default ``$SNIC_TMP``, else ``$TMPDIR``, else ``/tmp``); results are copied back atomically.
    The MadGraph backend's tasks run MG5 through ``generator.executor`` (``apptainer`` + ``generator.image``
    on a cluster), with the study folder, the output folder and the task's scratch bound.
    """

    account: str | None = Field(None, min_length=1)
    partition: str | None = Field(None, min_length=1)
    cpus_per_task: int = Field(1, gt=0)
    #: memory per task: a number with an optional K/M/G/T suffix (Slurm's default unit is M)
    memory: str = Field("4G", pattern=r"^[0-9]+[KMGT]?$")
    #: ``minutes``, ``[days-]hours:minutes:seconds``, ``days-hours`` … (Slurm's formats)
    walltime: str = Field("02:00:00", pattern=r"^([0-9]+-[0-9]+(:[0-9]{1,2}){0,2}|[0-9]+(:[0-9]{1,2}){0,2})$")
    #: at most this many tasks of an array run at once (``--array=…%N``)
    max_running: int | None = Field(None, gt=0)
    scratch: str | None = Field(None, min_length=1)
    #: the Python of a darkscan install on the compute nodes (default: the one running ``darkscan submit``)
    python: str | None = Field(None, min_length=1)


class Published(_Strict):
    """A published number to show beside ours in the report (e.g. a paper's AUC)."""

    task: str
    model: str
    metric: Literal["auc", "accuracy", "mape"] = "auc"
    value: float
    s_over_sqrt_b: float | None = None
    source: str = ""


class ReportSettings(_Strict):
    published: list[Published] = []


class Study(_Strict):
    """A whole study. Paths are relative to the study file's folder."""

    name: Name
    description: str = ""
    output: Path | None = None
    luminosity_fb: float = Field(139.0, gt=0)
    collider: Collider = Collider()
    generator: Generator = Generator()
    detector: Detector = Detector()
    samples: list[Sample] = Field(min_length=1)
    selection: Selection = Selection()
    histograms: list[Histogram] = []
    datasets: Datasets = Datasets()
    training: list[TrainingTask] = []
    cluster: Cluster = Cluster()
    report: ReportSettings = ReportSettings()

    #: set by :func:`load_study`: the file this study came from
    source: Path | None = Field(None, exclude=True)

    @property
    def output_dir(self) -> Path:
        base = self.source.parent if self.source is not None else Path.cwd()
        return base / (self.output if self.output is not None else Path("darkscan-output") / self.name)

    def sample(self, name: str) -> Sample:
        for sample in self.samples:
            if sample.name == name:
                return sample
        raise KeyError(name)

    def plan(self) -> list[SamplePoint]:
        """Every sample × scan point, in study order."""
        return [point for sample in self.samples for point in _expand(self, sample)]


@dataclasses.dataclass(frozen=True)
class SamplePoint:
    """One sample at one point of its scan: what a generator run produces."""

    sample: str
    process: str
    role: str
    index: int
    point_id: str
    #: every model parameter (defaults, then the sample's values, then the scan point's)
    parameters: dict[str, float | str]
    #: the scanned parameters only
    scanned: dict[str, float]
    generation_cuts: dict[str, float]
    n_events: int
    seed: int
    directory: Path


def _format_value(value: float) -> str:
    return f"{value:g}".replace("+", "")


def _scan_points(sample: Sample) -> list[dict[str, float]]:
    if not sample.scan:
        return [{}]
    names = list(sample.scan)
    if sample.scan_mode == "zip":
        return [dict(zip(names, values)) for values in zip(*sample.scan.values())]
    return [dict(zip(names, values)) for values in itertools.product(*sample.scan.values())]


def point_seed(study_seed: int, sample: str, point_id: str) -> int:
    """A seed per sample point, stable when other samples or scan points are added."""
    import numpy as np

    key = zlib.crc32(f"{sample}/{point_id}".encode())
    state = np.random.SeedSequence(study_seed, spawn_key=(key,)).generate_state(1)[0]
    return int(state) % MAX_SEED + 1


def _expand(study: Study, sample: Sample) -> Iterator[SamplePoint]:
    from darkscan.registry import PROCESSES

    process = PROCESSES[sample.process]
    cuts = {**process.generation_cuts, **sample.generation_cuts}
    for index, scanned in enumerate(_scan_points(sample)):
        point_id = "_".join(f"{k}-{_format_value(v)}" for k, v in scanned.items()) or "nominal"
        yield SamplePoint(
            sample=sample.name,
            process=process.name,
            role=sample.role or process.role,
            index=index,
            point_id=point_id,
            parameters=resolve_widths(process.name, {**process.defaults(), **sample.parameters, **scanned}),
            scanned=dict(scanned),
            generation_cuts=cuts,
            n_events=sample.n_events or study.generator.n_events,
            seed=point_seed(study.generator.seed, sample.name, point_id),
            directory=study.output_dir / "samples" / sample.name / point_id,
        )


# ----------------------------------------------------------------------------------------------
# Checks that need the registry or span several fields; each yields (field path, message).


def _cross_check(study: Study) -> Iterator[tuple[str, str]]:
    from darkscan.analysis.features import FEATURES
    from darkscan.registry import PROCESSES

    names = [s.name for s in study.samples]
    for i, sample in enumerate(study.samples):
        where = f"samples[{i}]"
        if names.count(sample.name) > 1:
            yield f"{where}.name", f"sample name {sample.name!r} is used more than once"
        process = PROCESSES.get(sample.process)
        if process is None:
            yield f"{where}.process", f"unknown process {sample.process!r}: {did_you_mean(sample.process, PROCESSES)}"
            continue
        if sample.role is not None and sample.role != process.role:
            yield f"{where}.role", f"process {process.name!r} is a {process.role}, not a {sample.role}"
        if study.generator.backend == "embedded" and process.pythia is None:
            yield (f"{where}.process", f"{process.name!r} has no embedded Pythia 8 equivalent; "
                   "set generator.backend: madgraph (MG5_aMC in a container) for it")
        for group, values in (("parameters", sample.parameters), ("scan", sample.scan)):
            for key in values:
                if key not in process.parameter_names:
                    yield f"{where}.{group}.{key}", (f"unknown parameter of {process.name}: "
                                                      f"{did_you_mean(key, process.parameter_names)}")
        for key in set(sample.parameters) & set(sample.scan):
            yield f"{where}.scan.{key}", "parameter is both fixed (parameters) and scanned (scan); keep one"
        if sample.scan_mode == "zip" and len({len(v) for v in sample.scan.values()}) > 1:
            lengths = {k: len(v) for k, v in sample.scan.items()}
            yield f"{where}.scan", f"scan_mode zip needs lists of equal length, got {lengths}"
        for key, value in sample.parameters.items():
            if key in process.parameter_names and (why := process.parameter(key).check(value)):
                yield f"{where}.parameters.{key}", why
        for key, values in sample.scan.items():
            if key in process.parameter_names:
                for value in values:
                    if why := process.parameter(key).check(value):
                        yield f"{where}.scan.{key}", why
                        break
        for key in sample.generation_cuts:
            if key not in GENERATION_CUTS:
                yield f"{where}.generation_cuts.{key}", f"unknown generation cut: {did_you_mean(key, GENERATION_CUTS)}"
        for key, why in generation_cut_problems(process, sample.generation_cuts):
            yield f"{where}.generation_cuts.{key}", why
        for scanned in _scan_points(sample):
            values = {**process.defaults(), **sample.parameters, **scanned}
            problems = [why for c in process.constraints if (why := c.check(values))]
            if problems:
                at = f" at scan point {scanned}" if scanned else ""
                yield where, f"{problems[0]}{at}"
                break

    for i, cut in enumerate(study.selection.cuts):
        if cut.feature not in FEATURES:
            yield f"selection.cuts[{i}].feature", f"unknown feature {cut.feature!r}: {did_you_mean(cut.feature, FEATURES)}"
        if cut.min is None and cut.max is None:
            yield f"selection.cuts[{i}]", "a cut needs min, max or both"
        elif cut.min is not None and cut.max is not None and cut.min >= cut.max:
            yield f"selection.cuts[{i}]", f"min ({cut.min:g}) must be below max ({cut.max:g})"

    histogram_names = [h.name for h in study.histograms]
    for i, histogram in enumerate(study.histograms):
        where = f"histograms[{i}]"
        if histogram_names.count(histogram.name) > 1:
            yield f"{where}.name", f"histogram name {histogram.name!r} is used more than once"
        if histogram.kind == "2d" and len(histogram.axes) != 2:
            yield f"{where}.axes", f"a 2d histogram needs exactly 2 axes, got {len(histogram.axes)}"
        for j, axis in enumerate(histogram.axes):
            if axis.feature not in FEATURES:
                yield f"{where}.axes[{j}].feature", f"unknown feature {axis.feature!r}: {did_you_mean(axis.feature, FEATURES)}"
            low, high = axis.range
            if not low < high:
                yield f"{where}.axes[{j}].range", f"range must be [low, high] with low < high, got {list(axis.range)}"
            elif axis.log and low <= 0:
                yield f"{where}.axes[{j}].range", f"log bins need a positive lower edge, got {low:g}"

    if study.generator.backend == "embedded":
        for key, value in (("detector.simulation", study.detector.simulation != "fast"),
                           ("generator.gridpack", study.generator.gridpack),
                           ("generator.executor", study.generator.executor != "local")):
            if value:
                yield key, "applies to generator.backend: madgraph only (the embedded backend has the fast detector in-process)"
    if study.generator.executor != "local" and not study.generator.image:
        yield "generator.image", f"the {study.generator.executor} executor needs an image (see containers/README.md)"

    roles = {s.name: (s.role or (PROCESSES[s.process].role if s.process in PROCESSES else None)) for s in study.samples}
    if study.histograms or study.training:
        if not any(r == "background" for r in roles.values()):
            yield "samples", "histogram datasets need at least one background sample"
    for i, task in enumerate(study.training):
        where = f"training[{i}]"
        for j, signal in enumerate(task.signals):
            if signal not in roles:
                yield f"{where}.signals[{j}]", f"no sample named {signal!r}: {did_you_mean(signal, roles)}"
            elif roles[signal] != "signal":
                yield f"{where}.signals[{j}]", f"sample {signal!r} is a {roles[signal]}, not a signal"
        if task.network == "event_dnn":
            yield from _event_task_problems(task, where)
        elif task.histogram is None:
            yield f"{where}.histogram", f"network {task.network} trains on histograms: name one of {histogram_names}"
        elif task.histogram not in histogram_names:
            yield f"{where}.histogram", f"no histogram named {task.histogram!r}: {did_you_mean(task.histogram, histogram_names)}"
        else:
            for key in sorted({"features", "weights", "class_weight"} & task.model_fields_set):
                yield f"{where}.{key}", f"applies to network event_dnn only, not {task.network}"
        if task.labels == "binary" and len(task.signals) != 1:
            yield f"{where}.signals", f"binary labels take exactly one signal, got {len(task.signals)} (use multimodel)"
        if task.labels in ("multimodel", "multiclass") and len(task.signals) < 2:
            yield f"{where}.signals", f"{task.labels} labels need at least two signals"
        if task.labels == "regression":
            if task.target is None:
                yield f"{where}.target", "regression needs a target: a scanned parameter of its signal"
            else:
                for signal in task.signals:
                    if signal in roles and task.target not in study.sample(signal).scan:
                        yield f"{where}.target", f"{task.target!r} is not scanned in sample {signal!r}"
        elif task.target is not None:
            yield f"{where}.target", f"target applies to regression only, not {task.labels}"
        if any(f <= 0 for f in task.split) or abs(sum(task.split) - 1) > 1e-6:
            yield f"{where}.split", f"split is three positive fractions (train, validation, test) summing to 1, got {list(task.split)}"


def _event_task_problems(task: TrainingTask, where: str) -> Iterator[tuple[str, str]]:
    """What an event-level (``event_dnn``) task cannot have."""
    from darkscan.analysis.features import FEATURES

    if task.histogram is not None:
        yield f"{where}.histogram", "event_dnn trains on single events (features), not on a histogram; remove histogram"
    if not task.features:
        yield f"{where}.features", "event_dnn needs the feature-table columns it reads, e.g. [met, leading_jet_pt]"
    for j, feature in enumerate(task.features):
        if feature not in FEATURES:
            yield f"{where}.features[{j}]", f"unknown feature {feature!r}: {did_you_mean(feature, FEATURES)}"
    if len(set(task.features)) != len(task.features):
        yield f"{where}.features", f"a feature is listed twice: {task.features}"
    if task.labels != "binary":
        yield f"{where}.labels", f"event_dnn takes binary labels (SM vs each signal model), not {task.labels}"
    if task.scaling == "log":
        yield f"{where}.scaling", "log scaling is for histogram counts; event features (η, φ) can be negative: use standard"


# ----------------------------------------------------------------------------------------------
# Reading the file and turning pydantic's errors into one line each.


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (line {mark.line + 1}, column {mark.column + 1})", mark)
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_at(loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class whose field the last element of ``loc`` names (for key suggestions)."""
    annotation: Any = Study
    for part in loc:
        while True:  # unwrap Optional/list/dict/Annotated to the model class
            origin = get_origin(annotation)
            if origin is None:
                break
            args = [a for a in get_args(annotation) if a is not type(None)]
            annotation = args[-1] if args else None
        if isinstance(part, int):
            continue
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        field = annotation.model_fields.get(part)
        if field is None:
            return annotation
        annotation = field.annotation
    return None


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        allowed = [n for n, f in model.model_fields.items() if not f.exclude] if model else []
        hint = f": {did_you_mean(str(loc[-1]), allowed)}" if allowed else ""
        return f"{_path(loc)}: unknown key{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing":
        return f"{_path(loc)}: required field is missing"
    value = error.get("input")
    shown = repr(value) if not isinstance(value, (dict, list)) or len(repr(value)) < 60 else type(value).__name__
    return f"{_path(loc)}: {message} (got {shown})"


def parse_study(data: Any, *, source: str | Path = "<study>") -> Study:
    """Validate already-loaded YAML data; raise :class:`StudyError` with one line per problem."""
    source = Path(source)
    if not isinstance(data, Mapping):
        raise StudyError(f"{source}: a study file is a YAML mapping (name:, samples:, …), got {type(data).__name__}")
    try:
        study = Study.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = list(dict.fromkeys(f"{source}: {_describe(e)}" for e in exc.errors()))
        raise StudyError(*lines) from None
    problems = [f"{source}: {path}: {message}" for path, message in _cross_check(study)]
    if problems:
        raise StudyError(*dict.fromkeys(problems))
    return study


def load_study(path: str | Path) -> Study:
    """Read, validate and return the study in ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(f"{path}: no such study file") from None
    except IsADirectoryError:
        raise StudyError(f"{path}: is a directory, not a study file") from None
    except UnicodeDecodeError as exc:
        raise StudyError(f"{path}: not a text (UTF-8) file: {exc.reason} at byte {exc.start}") from None
    except OSError as exc:
        raise StudyError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        context = exc.context or ""
        if context and exc.context_mark is not None and exc.context_mark is not mark:
            context += f" (started at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        what = " ".join(part for part in (context, str(exc.problem or "")) if part)
        raise StudyError(f"{path}{where}: YAML syntax error: {what}") from None
    except yaml.YAMLError as exc:
        raise StudyError(f"{path}: YAML error: {exc}") from None
    if data is None:
        raise StudyError(f"{path}: the study file is empty")
    return parse_study(data, source=path)
