"""Training a grid of small networks: darkscan's side-by-side grid vs sequential ``model.fit`` (ratios).

A binary task over several signal models × S/√B values (the paper's grid is 7 × 10) is built with
the project's own code (synthetic feature tables → :func:`darkscan.datasets.build.build_datasets`),
then trained twice in one process, every network for the same fixed number of epochs (patience
larger than the epochs, so early stopping never ends a run and both do the same work):

- baseline: per unit, a fresh Keras model of the same architecture, ``compile`` and ``model.fit``
  on in-memory arrays (the data are loaded beforehand and not timed) — plain sequential fits from
  a cold start, as a user script would do;
- darkscan: :func:`darkscan.ml.train.train_study` (loads and splits the data itself, trains the
  units side by side, ``grid_size`` at a time, one compiled function per epoch, saves every model).

Prints the wall time of each, their ratio, and histograms per second in training (epochs × training
histograms × networks / time). Run: ``python benchmarks/training_grid.py [--models 4] [--values 3]
[--histograms 2000] [--epochs 20] [--network dnn]``. The device (CPU or GPU) is printed; on a GPU the
same script measures the GPU figures.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _write_pools(study: Any, n_events: int = 20_000) -> None:
    from darkscan.readers.events import EventTableMetadata, write_feature_table

    rng = np.random.default_rng(7)
    for point in study.plan():
        signal = point.role == "signal"
        slope = 120.0 * (1.0 + float(point.parameters.get("m_med", 0.0)) / 1000.0) if signal else 120.0
        met = 100.0 + rng.exponential(slope, n_events)
        jet_pt = met * rng.normal(1.0, 0.1, n_events)
        eta = rng.normal(0.0, 1.1 if signal else 1.4, n_events)
        columns = {"met": met.astype(np.float32), "leading_jet_pt": jet_pt.astype(np.float32),
                   "leading_jet_eta": eta.astype(np.float32), "weight": np.ones(n_events), "passed": met > 200.0}
        metadata = EventTableMetadata(sample=point.sample, source="embedded", level="detector",
                                      cross_section_pb=0.5 if signal else 200.0, sum_weights=float(n_events),
                                      n_accepted=n_events, parameters=dict(point.parameters))
        write_feature_table(point.directory / "features.parquet", columns, metadata)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4, help="signal models (scan points)")
    parser.add_argument("--values", type=int, default=3, help="S/√B values")
    parser.add_argument("--histograms", type=int, default=2000, help="histograms per class and unit")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--network", default="dnn", choices=["dnn", "cnn"])
    parser.add_argument("--grid-size", type=int, default=16)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from darkscan.datasets.build import build_datasets
    from darkscan.ml.data import load_unit, units
    from darkscan.ml.networks import build_network
    from darkscan.ml.train import _spec_for, train_study
    from darkscan.study import parse_study

    tf.config.experimental.enable_op_determinism()
    root = Path(tempfile.mkdtemp(prefix="darkscan-grid-"))
    task = {"name": "grid", "labels": "binary", "signals": ["signal"], "histogram": "image", "network": args.network,
            "epochs": args.epochs, "patience": 10 * args.epochs, "grid_size": args.grid_size}
    study = parse_study({
        "name": "grid",
        "samples": [{"name": "znunu", "process": "sm_znunu_jet"},
                    {"name": "signal", "process": "spin1_monojet",
                     "scan": {"m_med": [500.0 + 250.0 * i for i in range(args.models)]}}],
        "histograms": [{"name": "image", "kind": "2d", "axes": [
            {"feature": "leading_jet_pt", "bins": 16, "range": [200, 1500], "log": True},
            {"feature": "leading_jet_eta", "bins": 16, "range": [-2.4, 2.4]}]}],
        "datasets": {"s_over_sqrt_b": [0.5 * (i + 1) for i in range(args.values)], "background_events": 5000,
                     "n_histograms": args.histograms, "seed": 3},
        "training": [task],
    }, source=root / "grid.yaml")
    _write_pools(study)
    build_datasets(study, plots=False)
    unit_ids = units(study, "grid")
    datas = [load_unit(study, "grid", unit) for unit in unit_ids]
    n_train = len(datas[0].y_train)
    work = args.epochs * n_train * len(datas)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    print(f"{len(datas)} networks ({args.network}, {datas[0].x_train.shape[1:]} inputs), {n_train} training "
          f"histograms each, {args.epochs} epochs, batch 128, on {device} "
          f"(TensorFlow {tf.__version__}, Keras {keras.__version__})")

    # warm-up outside both timings: TensorFlow's own start-up
    warm = build_network(_spec_for(study.training[0], datas[0]))
    warm.compile(optimizer="adam", loss="binary_crossentropy")
    warm.fit(datas[0].x_train[:256], datas[0].y_train[:256], epochs=1, verbose=0)

    start = time.perf_counter()
    for data in datas:
        keras.utils.set_random_seed(1)
        model = build_network(_spec_for(study.training[0], data))
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="binary_crossentropy", metrics=["accuracy"])
        model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=args.epochs,
                  batch_size=128, verbose=0)
    baseline = time.perf_counter() - start

    start = time.perf_counter()
    results = train_study(study)
    ours = time.perf_counter() - start
    assert all(r.sidecar["epochs_run"] == args.epochs for r in results)
    fit_only = sum({r.sidecar["grid_seconds"] for r in results})  # one value per grid
    print(f"sequential model.fit: {baseline:8.1f} s  {work / baseline:10,.0f} histograms/s")
    print(f"darkscan train_study: {ours:8.1f} s  {work / ours:10,.0f} histograms/s "
          f"(incl. loading, test metrics and saving; the grid's training loop alone: {fit_only:.1f} s)")
    print(f"ratio sequential / darkscan: {baseline / ours:.1f}×")


if __name__ == "__main__":
    main()
