"""Every embedded signal and background against MadGraph5 + shower, through the same fast detector.

For each sample of :data:`mg5_samples.SAMPLES` (a registry process at one parameter point), the
MG5 LHE (cached, made with the installed MG5 when missing) is showered by darkscan's own
``gen shower`` path (:func:`darkscan.gen.shower.shower_lhe`, Pythia 8 + the fast detector) and
compared with an embedded run of the same point (:class:`darkscan.gen.pythia.PythiaRun` + the same
fast detector, same preset). Printed per sample: σ (MG5 vs embedded), the selection efficiency
of the process's signature (``atlas_monojet`` for monojet processes, ``atlas_monoz`` for mono-Z ones,
both for tt̄), and the means and two-sample KS distances of MET, leading-jet pT and jet
multiplicity (the KS 95 % critical distance for the sample sizes is printed beside them).

Run: ``PYTHONPATH=src python benchmarks/validate_signals.py [NAME ...] [--events N]``
(about a minute per sample once the MG5 LHE is cached).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mg5_samples import SAMPLES, mg5_lhe, sample_point  # noqa: E402

PRESET = "fast"


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov distance (sup |F_a − F_b|)."""
    a, b = np.sort(a[np.isfinite(a)]), np.sort(b[np.isfinite(b)])
    grid = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, grid, side="right") / len(a)
                               - np.searchsorted(b, grid, side="right") / len(b))))


def ks_critical(n: int, m: int) -> float:
    """95 % critical KS distance for samples of n and m events."""
    return 1.358 * math.sqrt((n + m) / (n * m))


#: the selection preset of each signature
SELECTIONS = {"monojet": "atlas_monojet", "monoz": "atlas_monoz"}


def selections_for(name: str) -> list[str]:
    """The selection presets that fit the sample's process (one per signature)."""
    from darkscan.registry import get_process

    return [SELECTIONS[s] for s in get_process(sample_point(name).process).signatures]


def observables(table: Any, selections: list[str]) -> dict[str, np.ndarray]:
    """MET, leading-jet pT, jet multiplicity and each selection's decision, per event."""
    import awkward as ak

    from darkscan.analysis.features import compute_features
    from darkscan.analysis.selection import apply, study_cuts

    features = compute_features(table)
    return {
        "met": np.asarray(ak.to_numpy(table["met"]), dtype=float),
        "leading_jet_pt": np.asarray(ak.to_numpy(ak.fill_none(ak.firsts(table["jets"]["pt"]), np.nan)), dtype=float),
        "n_jets": np.asarray(ak.to_numpy(ak.num(table["jets"])), dtype=float),
        **{f"selected_{preset}": np.asarray(apply(features, study_cuts(preset)), dtype=bool)
           for preset in selections},
    }


def embedded_run(name: str, n_events: int, seed: int) -> tuple[Any, float, float]:
    """The embedded backend's events at the sample's point: (event table, σ, σ error)."""
    from darkscan.gen.detector import FastDetector, load_detector_params
    from darkscan.gen.embedded import generate_events
    from darkscan.gen.pythia import PythiaRun, recipe_for

    point = sample_point(name)
    recipe = recipe_for(point.process, point.parameters, point.generation_cuts)
    run = PythiaRun(recipe, sqrt_s_gev=13000.0, preset=PRESET, seed=seed)
    detector = FastDetector(load_detector_params(), recipe.invisible_pdgids)
    table = generate_events(run, detector, n_events, 0, np.random.default_rng(seed))
    sigma, error = run.cross_section_pb()
    return table, sigma, error


def showered_mg5(name: str, lhe: Path, n_events: int, seed: int) -> tuple[Any, float, float]:
    """The MG5 LHE through ``gen shower`` (Pythia 8 shower + the same fast detector)."""
    from darkscan.gen.shower import shower_lhe
    from darkscan.readers.events import read_event_table
    from darkscan.registry import get_process

    invisible = get_process(sample_point(name).process).invisible_pdgids
    with tempfile.TemporaryDirectory(prefix="darkscan-validate-") as tmp:
        out = Path(tmp) / f"{name}.parquet"
        shower_lhe(lhe, out, preset=PRESET, seed=seed, invisible_pdgids=invisible, max_events=n_events)
        table, metadata = read_event_table(out)
    return table, metadata.cross_section_pb, metadata.cross_section_error_pb


def compare(name: str, n_events: int, seed: int) -> dict[str, float]:
    lhe = mg5_lhe(name)
    assert lhe is not None
    mg_table, mg_sigma, mg_error = showered_mg5(name, lhe, n_events, seed)
    em_table, em_sigma, em_error = embedded_run(name, n_events, seed)
    selections = selections_for(name)
    mg, em = observables(mg_table, selections), observables(em_table, selections)
    n, m = len(mg["met"]), len(em["met"])
    row = {"sigma_mg5": mg_sigma, "sigma_embedded": em_sigma, "sigma_ratio": em_sigma / mg_sigma,
           "ks_critical": ks_critical(n, m)}
    for preset in selections:
        row[f"eff_{preset}_mg5"] = float(mg[f"selected_{preset}"].mean())
        row[f"eff_{preset}_embedded"] = float(em[f"selected_{preset}"].mean())
    for key in ("met", "leading_jet_pt", "n_jets"):
        row[f"{key}_mg5"] = float(np.nanmean(mg[key]))
        row[f"{key}_embedded"] = float(np.nanmean(em[key]))
        row[f"{key}_ks"] = ks_distance(mg[key], em[key])
    point = sample_point(name)
    print(f"\n{name}: {point.process} at {', '.join(f'{k} = {v:g}' for k, v in point.parameters.items() if not isinstance(v, str))}"
          f"; cuts {point.generation_cuts}; {n} MG5 + shower vs {m} embedded events, preset {PRESET}")
    print(f"  σ [pb]                 MG5 {mg_sigma:10.4g} ± {mg_error:.2g}   embedded {em_sigma:10.4g} ± {em_error:.2g}"
          f"   ratio {row['sigma_ratio']:.3f}")
    for preset in selections:
        eff_mg, eff_em = row[f"eff_{preset}_mg5"], row[f"eff_{preset}_embedded"]
        # binomial errors of both efficiencies, propagated to the ratio
        rel = math.sqrt(sum((1 - e) / (e * k) for e, k in ((eff_mg, n), (eff_em, m)) if e > 0))
        print(f"  {preset + ' eff.':<22s} MG5 {eff_mg:10.4f}   embedded {eff_em:10.4f}   "
              f"ratio {eff_em / max(eff_mg, 1e-12):.3f} ± {rel * eff_em / max(eff_mg, 1e-12):.3f}")
    for key, label in (("met", "mean MET [GeV]"), ("leading_jet_pt", "mean lead-jet pT [GeV]"),
                       ("n_jets", "mean jet multiplicity")):
        print(f"  {label:<22s} MG5 {row[f'{key}_mg5']:10.4g}   embedded {row[f'{key}_embedded']:10.4g}   "
              f"KS {row[f'{key}_ks']:.3f} (95 % critical {row['ks_critical']:.3f})")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SAMPLES), help=f"samples (default all: {', '.join(SAMPLES)})")
    parser.add_argument("--events", type=int, default=3000, help="events per side")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    start = time.perf_counter()
    for name in args.names:
        compare(name, args.events, args.seed)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
