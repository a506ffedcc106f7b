"""MadGraph5_aMC@NLO command scripts: one per sample point, or one per sample with MG5's own scan syntax.

A script is run non-interactively as ``mg5_aMC madgraph.mg5`` from the folder it is in. Its order is
the one MG5 3.5.7 accepts (checked against the real runs in ``shared/data/mg5``): offline-safe
settings, ``import model``, ``define``, ``generate`` / ``add process``, ``output DIR``, a plain
``launch DIR`` (``launch -f`` would skip the questions and ignore every answer below it), the
switches, ``done``, then ``set run_card`` / ``set param_card`` lines (and MadSpin's ``decay`` lines),
and a final ``done``.

Generation cuts go to the run card as given. ``misset`` is MG5's cut on the vector sum of the **SM
neutrino** momenta only: it does not see dark matter, so it is no DM MET cut (a monojet signal is
cut on the jet: ``ptj``, ``xptj``, ``ptj1min``).

Mass scans: one script per point (:func:`render_mg5_script`), or one script per sample
(:func:`render_mg5_scan_script`) whose varying param-card entries are written as
``scan:[a,b,c]`` (one entry) or ``scan1:[…]`` (several entries scanned together). A grid of several
parameters is written out point by point as one zipped ``scan1:`` list, so MG5's runs
``run_01, run_02, …`` come in exactly the order of :meth:`darkscan.study.Study.plan`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from darkscan import __version__
from darkscan.cards._render import TEMPLATE_VERSIONS, format_number, render_template
from darkscan.errors import CardError
from darkscan.registry import Process, get_process
from darkscan.study import SamplePoint
from darkscan.widths import PHYSICAL, resolve_widths

__all__ = [
    "MG5Script",
    "MG5Settings",
    "SCRIPT_NAME",
    "check_generation_cuts",
    "check_mg5_script",
    "param_card_entries",
    "parse_mg5_script",
    "render_mg5_scan_script",
    "render_mg5_script",
    "run_card_entries",
    "two_body_widths",
]

#: File name of the rendered script.
SCRIPT_NAME = "madgraph.mg5"


@dataclasses.dataclass(frozen=True)
class MG5Settings:
    """Run-wide MG5 choices that are not per sample point.

    ``pdlabel`` ``nn23lo1`` is MG5's built-in LO PDF (no LHAPDF needed; it sets αs(MZ) = 0.130).
    ``shower``/``detector`` switch MG5's own Pythia 8 / Delphes on; darkscan's default is off, and
    the LHE is showered with the rendered ``pythia8_card.dat`` and ``delphes_card.tcl`` instead.
    ``use_syst`` adds MG5's scale/PDF reweighting to every event (slower; MG5's default is on).
    """

    sqrt_s_gev: float = 13000.0
    pdlabel: str = "nn23lo1"
    use_syst: bool = False
    shower: bool = False
    detector: bool = False
    output_dir: str = "mg5"


def _is_loop_induced(process: Process) -> bool:
    return any("noborn=" in line for line in process.mg5_processes)


def check_generation_cuts(process: Process, cuts: Mapping[str, float]) -> None:
    """Refuse cuts that MG5 would apply to nothing, or that remove every event (see
    :func:`darkscan.study.generation_cut_problems`)."""
    from darkscan.study import generation_cut_problems

    for _, why in generation_cut_problems(process, cuts):
        raise CardError(f"generation cut {why}")


def run_card_entries(point: SamplePoint, settings: MG5Settings) -> list[tuple[str, str]]:
    """``(key, value)`` of every run-card line for ``point``, in script order."""
    check_generation_cuts(get_process(point.process), point.generation_cuts)
    beam = settings.sqrt_s_gev / 2
    entries = [
        ("nevents", str(point.n_events)),
        ("iseed", str(point.seed)),
        ("lpp1", "1"),
        ("lpp2", "1"),
        ("ebeam1", repr(float(beam))),
        ("ebeam2", repr(float(beam))),
        ("pdlabel", settings.pdlabel),
    ]
    for key in sorted(point.generation_cuts):
        entries.append((key, repr(float(point.generation_cuts[key]))))
    entries.append(("use_syst", "True" if settings.use_syst else "False"))
    return entries


def param_card_entries(process: Process, parameters: Mapping[str, float | str]) -> dict[str, str]:
    """``{"BLOCK ID": value}`` for every param-card entry the parameters set (``Auto`` widths included).

    For MSSM_SLHA2, once a mass leaves the reference spectrum, the dark-matter width becomes 0 and the
    process's resonances ``Auto`` (computed 2-body by the script, see :mod:`darkscan.cards.slha`).
    """
    entries: dict[str, str] = {}
    for parameter in process.parameters:
        if parameter.name not in parameters:
            if parameter.default is None:  # optional: the model card keeps its own values
                continue
            raise CardError(f"{process.name}: no value for parameter {parameter.name}")
        value = parameters[parameter.name]
        if isinstance(value, str):
            if parameter.kind == "width" and value.lower() == "auto":
                text = "Auto"
            elif parameter.physical and value.lower() == PHYSICAL:
                text = format_number(float(resolve_widths(process.name, parameters)[parameter.name]))
            else:
                raise CardError(f"{process.name}: parameter {parameter.name} = {value!r} is not a number"
                                + (' or "auto"' if parameter.kind == "width" else ""))
        else:
            if why := parameter.check(value):
                raise CardError(f"{process.name}: parameter {parameter.name} {why}")
            text = format_number(float(value))
        for entry in parameter.entries:
            entries[str(entry)] = text
    for name in parameters:
        if name not in process.parameter_names:
            raise CardError(f"{process.name}: unknown parameter {name!r}; allowed: {', '.join(process.parameter_names)}")
    for constraint in process.constraints:
        if why := constraint.check(parameters):
            raise CardError(f"{process.name}: {why}")
    if process.mg5_model == "MSSM_SLHA2":
        from darkscan.cards.slha import MSSM_WIDTHS, parse_slha, render_param_card

        card = parse_slha(render_param_card(process, parameters))
        for (pdg,), mass in card["MASS"].items():
            if f"MASS {pdg}" in entries:  # signed as the spectrum's mixing matrices need (χ̃⁰₃ negative)
                entries[f"MASS {pdg}"] = format_number(float(mass))
        reference = {pdg: width for pdg, width, _ in MSSM_WIDTHS}
        for (pdg,), width in card.get("DECAY", {}).items():
            if width != reference.get(pdg):
                entries[f"DECAY {pdg}"] = width if isinstance(width, str) else format_number(width)
    return entries


def two_body_widths(process: Process, param_card: Mapping[str, str]) -> list[int]:
    """Resonances whose width is ``Auto`` in ``param_card``: the script has MG5 compute them from their
    2-body decays (``Auto`` alone would integrate 3- and 4-body decays too)."""
    return [pdg for pdg in process.resonances if param_card.get(f"DECAY {pdg}") == "Auto"]


def _context(points: Sequence[SamplePoint], study_name: str, settings: MG5Settings, notes: list[str],
             param_card: list[tuple[str, str]]) -> dict[str, object]:
    point = points[0]
    process = get_process(point.process)
    madspin = bool(process.madspin_decays)
    notes = [f"beams: protons at sqrt(s) = {settings.sqrt_s_gev:g} GeV", *notes]
    widths = two_body_widths(process, dict(param_card))
    if widths:
        notes.append(f"widths of the resonances {' '.join(map(str, widths))} computed by MG5 from their 2-body decays")
    if madspin and _is_loop_induced(process):
        notes.append("MadSpin spinmode none: the only mode for loop-induced production (no tree-level matrix "
                     "element to correlate spins with); the decayed boson stays on its mass shell")
    if "misset" in point.generation_cuts:
        notes.append("run_card misset cuts on SM neutrinos only: the dark matter is not counted")
    return dict(
        version=__version__,
        template_version=TEMPLATE_VERSIONS["mg5_script"],
        script_name=SCRIPT_NAME,
        study=study_name,
        sample=point.sample,
        process=process.name,
        notes=notes,
        mg5_import=process.mg5_import,
        defines=list(process.mg5_defines),
        process_lines=list(process.mg5_processes),
        output_dir=settings.output_dir,
        shower="Pythia8" if settings.shower else "OFF",
        detector="Delphes" if settings.detector else "OFF",
        madspin=madspin,
        loop_induced=_is_loop_induced(process),
        madspin_decays=list(process.madspin_decays),
        run_card=run_card_entries(point, settings),
        param_card=param_card,
        two_body_widths=widths,
    )


def render_mg5_script(point: SamplePoint, *, study_name: str, settings: MG5Settings) -> str:
    """The MG5 script generating ``point`` (checked by :func:`check_mg5_script` before it is returned)."""
    process = get_process(point.process)
    entries = param_card_entries(process, point.parameters)
    notes = [f"point {point.point_id}: " + ", ".join(f"{k} = {_show(v)}" for k, v in point.parameters.items())
             if point.parameters else f"point {point.point_id}"]
    text = render_template("madgraph.mg5.j2", **_context([point], study_name, settings, notes, list(entries.items())))
    check_mg5_script(text, process=process, run_card=run_card_entries(point, settings), param_card=entries)
    return text


def render_mg5_scan_script(points: Sequence[SamplePoint], *, study_name: str, settings: MG5Settings) -> str:
    """One MG5 script for all ``points`` of one sample, using MG5's ``scan:``/``scan1:`` syntax.

    Entries equal at every point are set once; entries that vary are zipped in one ``scan1:`` group
    in plan order (plain ``scan:`` when only one entry varies). The run card (events, seed, cuts) is
    the first point's: MG5 runs every scan point with it. ``iseed`` seeds ``run_01``; MG5 then sets the
    run card's iseed to 0 and keeps counting from its own seed, which its survey and refine steps
    advance by 3 each, so the later runs get iseed + 6, iseed + 12, … (the banners of a real 3-point
    scan) - independent and reproducible, but not the points' own seeds (the Pythia and Delphes seeds
    stay the points' own).
    """
    if not points:
        raise CardError("an MG5 scan script needs at least one sample point")
    samples = {p.sample for p in points}
    if len(samples) != 1:
        raise CardError(f"an MG5 scan script covers one sample, got {sorted(samples)}")
    process = get_process(points[0].process)
    per_point = [param_card_entries(process, p.parameters) for p in points]
    if any(two_body_widths(process, entries) for entries in per_point):
        raise CardError(f"{process.name}: MG5's scan recomputes 'Auto' widths at every point with 3- and 4-body "
                        "decays (hours for MSSM spectra); render one script per point instead (without --mg5-scan)")
    keys = list(dict.fromkeys(k for entries in per_point for k in entries))
    varying = [k for k in keys if len({e.get(k) for e in per_point}) > 1]
    missing = [k for k in keys if any(k not in e for e in per_point)]
    if missing:
        raise CardError(f"{process.name}: param-card entries {missing} are not set at every scan point")
    tag = "scan" if len(varying) == 1 else "scan1"
    lines: list[tuple[str, str]] = []
    for key in keys:
        if key in varying:
            lines.append((key, f"{tag}:[{','.join(e[key] for e in per_point)}]"))
        else:
            lines.append((key, per_point[0][key]))
    notes = [f"MG5 scan over {len(points)} points, runs run_01 ... run_{len(points):02d} in this order:"]
    notes += [f"  run_{i:02d}: {p.point_id}" for i, p in enumerate(points, start=1)]
    notes.append(f"every run uses the run card below ({points[0].n_events} events); iseed (the first point's) seeds "
                 "run_01, and MG5 advances it by 3 per survey/refine step for the later runs (iseed + 6, iseed + 12, ...)")
    text = render_template("madgraph.mg5.j2", **_context(points, study_name, settings, notes, lines))
    check_mg5_script(text, process=process, run_card=run_card_entries(points[0], settings), param_card=dict(lines))
    return text


def _show(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:g}"


@dataclasses.dataclass
class MG5Script:
    """What an MG5 script says, read back from its text."""

    imports: list[str] = dataclasses.field(default_factory=list)
    defines: list[str] = dataclasses.field(default_factory=list)
    processes: list[str] = dataclasses.field(default_factory=list)
    outputs: list[str] = dataclasses.field(default_factory=list)
    launches: list[str] = dataclasses.field(default_factory=list)
    switches: dict[str, str] = dataclasses.field(default_factory=dict)
    run_card: dict[str, str] = dataclasses.field(default_factory=dict)
    param_card: dict[str, str] = dataclasses.field(default_factory=dict)
    madspin: list[str] = dataclasses.field(default_factory=list)
    compute_widths: list[str] = dataclasses.field(default_factory=list)
    options: list[str] = dataclasses.field(default_factory=list)
    dones: int = 0


_SWITCH = re.compile(r"^(shower|detector|madspin|analysis|reweight|madanalysis)\s*=\s*(\S+)$")


def parse_mg5_script(text: str) -> MG5Script:
    """Read an MG5 script (ours or MG5's ``proc_card``-style command list) into :class:`MG5Script`."""
    script = MG5Script()
    launched = False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = line.split()
        if words[0] == "import" and len(words) >= 3 and words[1] == "model":
            script.imports.append(words[2])
        elif words[0] == "define":
            script.defines.append(" ".join(words[1:]))
        elif words[0] == "generate" or (words[0] == "add" and words[1:2] == ["process"]):
            script.processes.append(" ".join(words[1:] if words[0] == "generate" else words[2:]))
        elif words[0] == "output":
            script.outputs.append(" ".join(words[1:]))
        elif words[0] == "launch":
            script.launches.append(" ".join(words[1:]))
            launched = True
        elif words[0] == "done":
            script.dones += 1
        elif (match := _SWITCH.match(line)) and launched:
            script.switches[match.group(1)] = match.group(2)
        elif words[0] == "set" and len(words) >= 4 and words[1] == "run_card":
            script.run_card[words[2]] = " ".join(words[3:])
        elif words[0] == "set" and len(words) >= 5 and words[1] == "param_card":
            script.param_card[" ".join(words[2:-1]).upper()] = words[-1]
        elif words[0] == "compute_widths" and launched:
            script.compute_widths.append(" ".join(words[1:]))
        elif words[0] == "decay" or (words[0] == "set" and words[1:2] == ["spinmode"]):
            script.madspin.append(line)
        elif words[0] == "set":
            script.options.append(line)
        else:
            raise CardError(f"MG5 script: unknown line {raw.strip()!r}")
    return script


def check_mg5_script(text: str, *, process: Process, run_card: Sequence[tuple[str, str]],
                     param_card: Mapping[str, str]) -> MG5Script:
    """Parse ``text`` back; raise :class:`CardError` unless it says exactly what was asked."""
    where = f"MG5 script for {process.name}"
    if "{{" in text or "{%" in text or "}}" in text:
        raise CardError(f"{where}: unrendered template markup left in the script")
    if not text.isascii():
        raise CardError(f"{where}: non-ASCII text (MG5 may read the script in the C locale)")
    script = parse_mg5_script(text)
    problems = []
    if script.imports != [process.mg5_import]:
        problems.append(f"imports {script.imports}, expected [{process.mg5_import!r}]")
    if script.processes != list(process.mg5_processes):
        problems.append(f"processes {script.processes}, expected {list(process.mg5_processes)}")
    if script.defines != list(process.mg5_defines):
        problems.append(f"defines {script.defines}, expected {list(process.mg5_defines)}")
    if len(script.outputs) != 1 or script.launches != script.outputs:
        problems.append(f"needs one 'output DIR' and a plain 'launch DIR', got output {script.outputs}, "
                        f"launch {script.launches}")
    if any("-f" in launch.split() for launch in script.launches):
        problems.append("'launch -f' ignores every answer that follows it")
    if script.dones != 2:
        problems.append(f"needs 2 'done' lines (switches, cards), got {script.dones}")
    if bool(process.madspin_decays) != ("madspin" in script.switches):
        problems.append("madspin switch does not match the process's MadSpin decays")
    for decay in process.madspin_decays:
        if f"decay {decay}" not in script.madspin:
            problems.append(f"MadSpin decay {decay!r} missing")
    widths = two_body_widths(process, {k.upper(): v for k, v in param_card.items()})
    expected_widths = [f"{' '.join(map(str, widths))} --body_decay=2"] if widths else []
    if script.compute_widths != expected_widths:
        problems.append(f"compute_widths lines {script.compute_widths}, expected {expected_widths}")
    for key, value in run_card:
        if script.run_card.get(key) != value:
            problems.append(f"run_card {key} is {script.run_card.get(key)!r}, expected {value!r}")
    for entry, value in param_card.items():
        found = script.param_card.get(entry.upper())
        if found is None or not _same_value(found, value):
            problems.append(f"param_card {entry} is {found!r}, expected {value!r}")
    extra = set(script.param_card) - {e.upper() for e in param_card}
    if extra:
        problems.append(f"unexpected param_card entries {sorted(extra)}")
    if problems:
        raise CardError(*(f"{where}: {p}" for p in problems))
    return script


def _same_value(found: str, expected: str) -> bool:
    if found == expected:
        return True
    try:
        return float(found) == float(expected)
    except ValueError:
        return False
