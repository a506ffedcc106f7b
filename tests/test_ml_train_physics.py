"""Full-size training checks (slow): networks against the optimal-AUC ceiling, B-invariance,
multiclass against the Bayes rule, and the neutralino mass regressor's MAPE.

Datasets are built by :func:`darkscan.datasets.build.build_datasets` from synthetic feature tables
(MET and leading-jet spectra falling exponentially, harder and more central for heavier mediators)
with large pools, so that the histograms' shapes are smooth. Every network uses the study's default
hyper-parameters (``dnn``: 3 × Dense(20) + Dropout(0.2), Adam 1e-4, batch 128, early stopping).
The ceiling is the dataset's ``/ceiling/auc_llr`` (the likelihood ratio's AUC at the dataset's B),
checked against a Monte Carlo of the likelihood ratio; each network's AUC is printed beside the
likelihood ratio's on the same test rows and the standard error of an AUC on that many rows.
Run with ``python -m pytest -m slow -s tests/test_ml_train_physics.py`` to see the tables.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from darkscan.datasets.build import build_datasets
from darkscan.datasets.ceiling import likelihood_ratio
from darkscan.ml.baselines import LikelihoodRatio, read_shapes
from darkscan.ml.train import binary_auc
from darkscan.readers.events import EventTableMetadata, write_feature_table
from darkscan.study import Study, parse_study

pytest.importorskip("keras")
# no UnsampledBackgroundWarning allowed (filterwarnings = error): a signal cell without background in
# the pool separates perfectly and makes the ceiling depend on B, hiding the B-invariance tested here
pytestmark = pytest.mark.slow

IMAGE = {"name": "image", "kind": "2d", "axes": [
    {"feature": "leading_jet_pt", "bins": 10, "range": [200, 1000], "log": True},
    {"feature": "leading_jet_eta", "bins": 10, "range": [-2.5, 2.5]}]}
CHANNELS = {"name": "channels", "kind": "1d", "axes": [
    {"feature": "met", "bins": 20, "range": [200, 1400]},
    {"feature": "ht", "bins": 20, "range": [200, 2000]}]}


def _write_pools(study: Study, n_background: int = 300_000, n_signal: int = 60_000) -> None:
    rng = np.random.default_rng(2024)
    for point in study.plan():
        signal = point.role == "signal"
        n = n_signal if signal else n_background
        if point.sample == "n1":  # neutralino pairs: harder recoil for heavier χ̃⁰₁
            slope, eta_width = 110.0 + 0.25 * float(point.parameters["m_dm"]), 1.1
        elif signal:
            slope, eta_width = 100.0 + 0.12 * float(point.parameters["m_med"]), 1.0 + 0.0002 * float(point.parameters["m_med"])
        else:
            slope, eta_width = 120.0, 1.4
        met = 100.0 + rng.exponential(slope, n)
        jet_pt = met * rng.normal(1.0, 0.1, n)
        ht = jet_pt + rng.exponential(80.0, n)
        eta = rng.normal(0.0, eta_width, n)
        columns = {"met": met.astype(np.float32), "leading_jet_pt": jet_pt.astype(np.float32),
                   "leading_jet_eta": eta.astype(np.float32), "ht": ht.astype(np.float32),
                   "weight": np.ones(n), "passed": met > 200.0}
        metadata = EventTableMetadata(sample=point.sample, source="embedded", level="detector",
                                      cross_section_pb=0.5 if signal else 200.0, sum_weights=float(n),
                                      n_accepted=n, parameters=dict(point.parameters))
        write_feature_table(point.directory / "features.parquet", columns, metadata)


def _study(root: Path, *, background_events: int, n_histograms: int, values: list[float],
           training: list[dict[str, Any]], samples: list[dict[str, Any]], **datasets: Any) -> Study:
    study = parse_study({
        "name": "physics",
        "samples": [{"name": "znunu", "process": "sm_znunu_jet"}, *samples],
        "histograms": [IMAGE, CHANNELS],
        "datasets": {"s_over_sqrt_b": values, "background_events": background_events, "n_histograms": n_histograms,
                     "seed": 11, **datasets},
        "training": training,
    }, source=root / "physics.yaml")
    _write_pools(study)
    build_datasets(study, plots=False)
    return study


SPIN1 = {"name": "spin1", "process": "spin1_monojet", "scan": {"m_med": [1000]}}


def _auc_error(value: float, n_signal: int, n_background: int) -> float:
    """Hanley–McNeil standard error of an AUC measured on ``n_signal`` + ``n_background`` rows."""
    q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
    variance = value * (1 - value) + (n_signal - 1) * (q1 - value**2) + (n_background - 1) * (q2 - value**2)
    return math.sqrt(variance / (n_signal * n_background))


def _ceiling(study: Study, task: str, n_monte_carlo: int = 100_000) -> np.ndarray:
    """The dataset's ceiling at each S/√B, checked against the likelihood ratio's AUC on fresh Poisson histograms.

    The ceiling is ``/ceiling/auc_llr`` (exact moments at the dataset's B); ``/ceiling/auc`` is the large-B
    limit, 0.004 above the achievable AUC at B = 5000 and S/√B ≥ 1, which this check rejects.
    """
    with h5py.File(study.output_dir / "datasets" / f"{task}.h5") as h5:
        assert (h5["ceiling/empty_background_fraction"][...] == 0).all()  # every signal cell has background
        ceiling = h5["ceiling/auc_llr"][0]
        q, p = h5["shapes/background"][...].ravel(), h5["shapes/models"][0].ravel()
    background = float(study.datasets.background_events)
    rng = np.random.default_rng(5)
    for j, value in enumerate(study.datasets.s_over_sqrt_b):
        signal = value * math.sqrt(background)
        sm = rng.poisson(background * q, size=(n_monte_carlo, q.size))
        sm_np = rng.poisson(background * q + signal * p, size=(n_monte_carlo, q.size))
        labels = np.repeat([0, 1], n_monte_carlo)
        llr = likelihood_ratio(np.vstack([sm, sm_np]), p, q, value, background)
        monte_carlo = binary_auc(llr, labels)
        error = _auc_error(monte_carlo, n_monte_carlo, n_monte_carlo)
        print(f"ceiling at S/√B {value:g}, B {background:g}: {ceiling[j]:.4f}; likelihood ratio on 2 × {n_monte_carlo} "
              f"fresh histograms {monte_carlo:.4f} ± {error:.4f}")
        assert abs(monte_carlo - ceiling[j]) < 3 * error
    return ceiling


def _likelihood_ratio_auc(study: Study, task: str, unit: str) -> tuple[float, float]:
    """The likelihood ratio's AUC on the unit's test rows, and the standard error of an AUC there."""
    from darkscan.ml.data import load_unit

    data = load_unit(study, task, unit)
    assert data.s_over_sqrt_b is not None
    scores = LikelihoodRatio.from_shapes(read_shapes(data.dataset_path), data.s_over_sqrt_b).binary_scores(data.raw_test, 0)
    value = binary_auc(scores, data.y_test)
    n_signal = int(data.y_test.sum())
    return value, _auc_error(value, n_signal, len(data.y_test) - n_signal)


@pytest.mark.parametrize(("network", "tolerance", "n_histograms", "split"), [
    # 10 000 histograms per class (12 800 training rows) leave the dnn 0.017 / 0.011 / 0.004 below the likelihood
    # ratio on the same test rows at S/√B = 0.5 / 1 / 2: it overfits; 40 000 (48 000 training rows) bring it within
    # 0.007 (measured: 0.0054 / 0.0036 / 0.0008 below the ceiling, 0.0064 / 0.0046 / 0.0014 below the likelihood ratio).
    # The 30 % test part (12 000 per class) puts the standard error of the AUC at 0.003 (0.008 with 2000).
    ("dnn", 0.01, 40_000, [0.6, 0.1, 0.3]),
    # measured: cnn 0.0156 / 0.0042 / −0.0015 below the ceiling, 0.006 / 0.006 / 0.002 below the likelihood ratio
    # (σ(AUC) 0.0085 / 0.0066 / 0.0027 on 2000 test rows per class)
    ("cnn", 0.02, 10_000, [0.64, 0.16, 0.2]),
])
def test_networks_reach_the_optimal_auc(network: str, tolerance: float, n_histograms: int, split: list[float],
                                        tmp_path: Path) -> None:
    from darkscan.ml.train import train_study

    study = _study(tmp_path, background_events=5000, n_histograms=n_histograms, values=[0.5, 1, 2], samples=[SPIN1],
                   training=[{"name": network, "labels": "binary", "signals": ["spin1"], "histogram": "image",
                              "network": network, "split": split}])
    results = train_study(study)
    ceiling = _ceiling(study, network)
    print(f"\n{network}, {n_histograms} histograms per class, B = 5000")
    print("S/√B  ceiling  AUC     AUC−ceiling  LR      AUC−LR   σ(AUC)  epochs (best)")
    short = []
    for j, value in enumerate(study.datasets.s_over_sqrt_b):
        result = next(r for r in results if r.sidecar["s_over_sqrt_b"] == value)
        auc = result.sidecar["test"]["auc"]
        lr, error = _likelihood_ratio_auc(study, network, result.unit)
        print(f"{value:4g}  {ceiling[j]:.4f}   {auc:.4f}  {auc - ceiling[j]:+.4f}      {lr:.4f}  {auc - lr:+.4f}  "
              f"{error:.4f}  {result.sidecar['epochs_run']} ({result.sidecar['best_epoch']})")
        if auc < ceiling[j] - tolerance:
            short.append((value, round(auc - ceiling[j], 4)))
    assert not short


def test_auc_is_invariant_under_b(tmp_path_factory: pytest.TempPathFactory) -> None:
    """At fixed S/√B the AUC hardly depends on B (the paper's main result).

    Exactly, the information grows slightly with B at fixed S/√B (s/b shrinks, the Poisson likelihood ratio
    becomes Gaussian): the ceilings differ by a few 10⁻³; the networks must agree within 0.01.
    """
    from darkscan.ml.train import train_study

    training = [{"name": "b", "labels": "binary", "signals": ["spin1"], "histogram": "image", "network": "dnn",
                 "split": [0.6, 0.1, 0.3]}]
    auc = {}
    for background in (5000, 50_000):
        study = _study(tmp_path_factory.mktemp(f"b{background}"), background_events=background, n_histograms=40_000,
                       values=[1], samples=[SPIN1], training=training)
        (result,) = train_study(study)
        lr, error = _likelihood_ratio_auc(study, "b", result.unit)
        auc[background] = (result.sidecar["test"]["auc"], float(_ceiling(study, "b")[0]), lr, error)
    print("\nS/√B = 1, dnn, 40 000 histograms per class\nB       AUC     ceiling  LR      σ(AUC)")
    for background, (value, ceiling, lr, error) in auc.items():
        print(f"{background:<6d}  {value:.4f}  {ceiling:.4f}   {lr:.4f}  {error:.4f}")
    # measured (seed 11, CPU): AUC 0.8169 / 0.8202, ceilings 0.8257 / 0.8283, likelihood ratio on the same rows
    # 0.8210 / 0.8239 (σ 0.0027 each); with 10 000 histograms per class and the 40 % test part: 0.8144 / 0.8253
    assert auc[5000][1] == pytest.approx(auc[50_000][1], abs=0.005)
    assert abs(auc[5000][0] - auc[50_000][0]) < 0.01


def test_multiclass_reaches_the_bayes_rule(tmp_path_factory: pytest.TempPathFactory) -> None:
    from darkscan.ml.data import load_unit
    from darkscan.ml.train import train_study

    samples = [{"name": "light", "process": "spin1_monojet", "scan": {"m_med": [500, 1000]}},
               {"name": "heavy", "process": "spin1_monojet", "scan": {"m_med": [1500, 2000]}}]
    study = _study(tmp_path_factory.mktemp("multiclass"), background_events=5000, n_histograms=10_000, values=[3],
                   samples=samples, training=[{"name": "which", "labels": "multiclass", "signals": ["light", "heavy"],
                                               "histogram": "image", "network": "dnn"}])
    (result,) = train_study(study)
    data = load_unit(study, "which", "sb_3")
    bayes_rule = LikelihoodRatio.from_shapes(read_shapes(data.dataset_path), 3.0)
    bayes = float(np.mean(bayes_rule.predict(data.raw_test) == data.y_test))
    network = result.sidecar["test"]["accuracy"]
    print(f"\nmulticlass SM + 4 models, S/√B = 3: network accuracy {network:.4f}, Bayes rule {bayes:.4f} "
          f"({result.sidecar['epochs_run']} epochs)")
    assert network >= bayes - 0.02


# The regressor never uses the ceiling; the heaviest points' MET tails reach cells the background pool
# leaves empty, which only matters for classification.
@pytest.mark.filterwarnings("ignore::darkscan.datasets.build.UnsampledBackgroundWarning")
def test_neutralino_mass_regressor_mape(tmp_path_factory: pytest.TempPathFactory) -> None:
    from darkscan.ml.train import train_study

    masses = [150, 250, 350, 450, 550, 700, 850, 1000]
    samples = [{"name": "n1", "process": "neutralino_monojet",
                "parameters": {"m_sneutrino": 3000, "m_sneutrino_tau": 3000, "m_sparticles": 3000},
                "scan": {"m_dm": masses}}]
    study = _study(tmp_path_factory.mktemp("regression"), background_events=5000, n_histograms=100, values=[5],
                   histograms_per_point=1000, samples=samples,
                   training=[{"name": "mass", "labels": "regression", "signals": ["n1"], "histogram": "channels",
                              "target": "m_dm", "network": "cnn", "learning_rate": 1e-3}])
    (result,) = train_study(study)
    test = result.sidecar["test"]
    print(f"\nneutralino mass regressor, {len(masses)} masses 150–1000 GeV, S/√B = 5: MAPE {test['mape']:.1f} %, "
          f"MAE {test['mae']:.0f} GeV, RMSE {test['rmse']:.0f} GeV ({result.sidecar['epochs_run']} epochs)")
    # predicting the mean mass (537.5 GeV) for every histogram gives MAPE = 69 % on these masses
    assert test["mape"] < 40
