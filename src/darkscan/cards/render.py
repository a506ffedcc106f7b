"""Render every card of a study: one folder per sample point, each with a ``sample.json`` manifest.

Per point (``point.directory / "cards"``, or ``DIR/<sample>/<point_id>`` with an explicit output
folder):

- ``madgraph.mg5``: the MG5 script (one-script-per-point style, the default);
- ``param_card.dat`` and ``spectrum.slha``: for MSSM_SLHA2 processes, the MG5 param card and the
  Pythia 8 SLHA file of the point (see :mod:`darkscan.cards.slha`);
- ``pythia8_card.dat``: shower + hadronisation of the LHE file (:mod:`darkscan.cards.pythia8`);
- ``delphes_card.tcl``: the stock card + seed + invisible particles (:mod:`darkscan.cards.delphes`);
- ``sample.json``: study, sample, process, parameters, seed, template versions and the sha256 of
  every file above. It is written last, so a folder with a manifest is complete.

With ``mg5_scan=True`` each sample gets one MG5 script using MG5's scan syntax in
``<sample folder>/mg5-scan/`` instead, and each point's Pythia card reads that scan's
``run_NN`` events. Every file is written atomically; every card was parsed back and checked before
it is written (:class:`~darkscan.errors.CardError` otherwise). Rendering is deterministic: the same
study gives byte-identical files.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from darkscan import __version__
from darkscan.cards import delphes, mg5, pythia8, slha
from darkscan.cards._render import TEMPLATE_VERSIONS
from darkscan.errors import CardError
from darkscan.io import sha256_file, write_json_atomic, write_text_atomic
from darkscan.registry import get_process
from darkscan.study import SamplePoint, Study

__all__ = [
    "MANIFEST_NAME",
    "PARAM_CARD_NAME",
    "SCAN_DIR_NAME",
    "SLHA_NAME",
    "RenderedCards",
    "render_point_cards",
    "render_study_cards",
]

MANIFEST_NAME = "sample.json"
PARAM_CARD_NAME = "param_card.dat"
SLHA_NAME = "spectrum.slha"
SCAN_DIR_NAME = "mg5-scan"
#: where MG5 leaves the events of run number N, relative to the folder it ran in
_LHE = "{output}/Events/run_{run:02d}/unweighted_events.lhe.gz"


@dataclasses.dataclass(frozen=True)
class RenderedCards:
    """One folder of rendered cards: its files (name → sha256) and manifest path."""

    directory: Path
    files: dict[str, str]
    manifest: Path


def _settings(study: Study, use_syst: bool) -> mg5.MG5Settings:
    return mg5.MG5Settings(sqrt_s_gev=study.collider.sqrt_s_gev, use_syst=use_syst)


def render_point_cards(point: SamplePoint, study: Study, *, mg5_settings: mg5.MG5Settings,
                       lhef: str, with_mg5_script: bool = True) -> dict[str, str]:
    """``file name → text`` of every card of ``point`` (nothing is written)."""
    process = get_process(point.process)
    cards: dict[str, str] = {}
    if with_mg5_script:
        cards[mg5.SCRIPT_NAME] = mg5.render_mg5_script(point, study_name=study.name, settings=mg5_settings)
    if process.mg5_model == "MSSM_SLHA2":
        cards[PARAM_CARD_NAME] = slha.render_param_card(process, point.parameters)
        cards[SLHA_NAME] = slha.render_slha(process, point.parameters)
        if with_mg5_script:
            _check_script_matches_param_card(cards[mg5.SCRIPT_NAME], cards[PARAM_CARD_NAME])
    cards[pythia8.CARD_NAME] = pythia8.render_pythia8_card(point, study_name=study.name,
                                                           preset=study.generator.preset, lhef=lhef)
    cards[delphes.CARD_NAME] = delphes.render_delphes_card(point, study_name=study.name,
                                                           delphes_card=_delphes_card(study),
                                                           invisible=process.invisible_pdgids)
    return cards


def _check_script_matches_param_card(script_text: str, param_card_text: str) -> None:
    """The MG5 script's ``set param_card`` lines and ``param_card.dat`` must describe one spectrum."""
    card = slha.parse_slha(param_card_text)
    for entry, value in mg5.parse_mg5_script(script_text).param_card.items():
        block, *ids = entry.split()
        found = card.get(block, {}).get(tuple(int(i) for i in ids))
        same = found == value if isinstance(found, str) else found is not None and found == float(value)
        if not same:
            raise CardError(f"{PARAM_CARD_NAME} has {entry} = {found!r} but {mg5.SCRIPT_NAME} sets {value!r}")


def _delphes_card(study: Study) -> str:
    """A bare stock-card name as is; a user card path resolved against the study file's folder."""
    card = study.detector.delphes_card
    if "/" not in card:
        return card
    path = Path(card)
    if not path.is_absolute():
        path = (study.source.parent if study.source is not None else Path.cwd()) / path
    if not path.is_file():
        raise CardError(f"detector.delphes_card: no Delphes card at {path} (a bare name such as "
                        "'delphes_card_ATLAS.tcl' means the stock card inside the container)")
    return str(path.resolve())


def _used_templates(names: Sequence[str]) -> dict[str, int]:
    used = {mg5.SCRIPT_NAME: "mg5_script", PARAM_CARD_NAME: "mssm_slha2", SLHA_NAME: "mssm_slha2",
            pythia8.CARD_NAME: "pythia8_card", delphes.CARD_NAME: "delphes_card"}
    return {used[n]: TEMPLATE_VERSIONS[used[n]] for n in sorted(names) if n in used}


def _write(directory: Path, cards: dict[str, str], manifest: dict[str, Any]) -> RenderedCards:
    for name, text in cards.items():
        write_text_atomic(directory / name, text)
    files = {name: sha256_file(directory / name) for name in sorted(cards)}
    manifest_path = directory / MANIFEST_NAME
    write_json_atomic(manifest_path, {**manifest, "templates": _used_templates(list(cards)), "files": files})
    return RenderedCards(directory, files, manifest_path)


def _point_manifest(point: SamplePoint, study: Study, style: str, **extra: Any) -> dict[str, Any]:
    return {
        "darkscan_version": __version__,
        "study": study.name,
        "sample": point.sample,
        "process": point.process,
        "role": point.role,
        "point_id": point.point_id,
        "index": point.index,
        "parameters": point.parameters,
        "scanned": point.scanned,
        "generation_cuts": point.generation_cuts,
        "n_events": point.n_events,
        "seed": point.seed,
        "sqrt_s_gev": study.collider.sqrt_s_gev,
        "generator_preset": study.generator.preset,
        "mg5_style": style,
        **extra,
    }


def render_study_cards(study: Study, *, output: Path | None = None, mg5_scan: bool = False,
                       use_syst: bool = False,
                       progress: Callable[[int, int], None] | None = None) -> list[RenderedCards]:
    """Render and write the cards of every sample point of ``study``.

    Args:
        study: a validated study.
        output: folder for ``<sample>/<point_id>/`` card folders; ``None``: each point's
            ``point.directory / "cards"``.
        mg5_scan: one MG5 script per sample with MG5's scan syntax instead of one per point.
        use_syst: switch MG5's scale/PDF systematics reweighting on.
        progress: called as ``progress(done, total)`` after each folder.

    Returns:
        One :class:`RenderedCards` per folder written, in plan order (scan folders before their points).

    Raises:
        CardError: a parameter is unusable or a rendered card does not say what was asked; every
            card is rendered and checked before the first file is written, so nothing is written then.
    """
    plan = study.plan()
    settings = _settings(study, use_syst)

    def point_dir(point: SamplePoint) -> Path:
        return output / point.sample / point.point_id if output is not None else point.directory / "cards"

    def scan_dir(sample: str) -> Path:
        base = output / sample if output is not None else study.output_dir / "samples" / sample
        return base / SCAN_DIR_NAME

    by_sample: dict[str, list[SamplePoint]] = {}
    for point in plan:
        by_sample.setdefault(point.sample, []).append(point)
    total = len(plan) + (len(by_sample) if mg5_scan else 0)
    done: list[RenderedCards] = []

    # Render everything first: a bad parameter anywhere stops the run before any file is written.
    pending: list[tuple[Path, dict[str, str], dict[str, Any]]] = []
    for sample, points in by_sample.items():
        try:
            pending += _render_sample(study, points, settings, mg5_scan, point_dir, scan_dir)
        except CardError as exc:
            index = [s.name for s in study.samples].index(sample)
            where = f"{study.source}: samples[{index}] ({sample})" if study.source else f"sample {sample}"
            raise CardError(*(f"{where}: {problem}" for problem in exc.problems)) from None
    for directory, cards, manifest in pending:
        done.append(_write(directory, cards, manifest))
        if progress is not None:
            progress(len(done), total)
    if len(done) != total:
        raise CardError(f"internal: rendered {len(done)} folders, expected {total}")
    return done


def _render_sample(study: Study, points: list[SamplePoint], settings: mg5.MG5Settings, mg5_scan: bool,
                   point_dir: Callable[[SamplePoint], Path], scan_dir: Callable[[str], Path],
                   ) -> list[tuple[Path, dict[str, str], dict[str, Any]]]:
    pending: list[tuple[Path, dict[str, str], dict[str, Any]]] = []
    sample = points[0].sample
    if mg5_scan:
        sdir = scan_dir(sample)
        script = mg5.render_mg5_scan_script(points, study_name=study.name, settings=settings)
        pending.append((sdir, {mg5.SCRIPT_NAME: script}, {
            "darkscan_version": __version__, "study": study.name, "sample": sample,
            "process": points[0].process, "mg5_style": "scan", "sqrt_s_gev": study.collider.sqrt_s_gev,
            "n_events": points[0].n_events, "seed": points[0].seed,
            "runs": {f"run_{i:02d}": {"point_id": p.point_id, "parameters": p.parameters,
                                       "cards": os.path.relpath(point_dir(p), sdir)}
                     for i, p in enumerate(points, start=1)},
        }))
    for run, point in enumerate(points, start=1):
        pdir = point_dir(point)
        if mg5_scan:
            mg5_dir = os.path.relpath(scan_dir(sample), pdir)
            lhef = _LHE.format(output=f"{mg5_dir}/{settings.output_dir}", run=run)
            # MG5 seeds only run_01 with iseed; later scan runs continue MG5's own sequence
            extra = {"mg5_script": f"{mg5_dir}/{mg5.SCRIPT_NAME}", "mg5_run": f"run_{run:02d}",
                     "mg5_iseed": points[0].seed if run == 1 else None}
        else:
            lhef = _LHE.format(output=settings.output_dir, run=1)
            extra = {"mg5_script": mg5.SCRIPT_NAME, "mg5_run": "run_01", "mg5_iseed": point.seed}
        try:
            cards = render_point_cards(point, study, mg5_settings=settings, lhef=lhef, with_mg5_script=not mg5_scan)
        except CardError as exc:
            raise CardError(*(f"point {point.point_id}: {problem}" for problem in exc.problems)) from None
        pending.append((pdir, cards, _point_manifest(point, study, "scan" if mg5_scan else "per-point",
                                                     lhef=lhef, **extra)))
    return pending
