"""Evaluation plots (matplotlib Agg + mplhep style), written beside ``evaluation/<task>.json``.

One PNG per kind and task, named ``<task>_<kind>.png``:

- ``roc``: ROC curves of every unit's network (solid) and of the exact likelihood ratio on the same
  test histograms (dashed, same colour);
- ``auc_vs_s_over_sqrt_b``: network AUC against S/√B per model, with the dataset's optimal ceiling
  (line) and the likelihood-ratio classifier's AUC (crosses) overlaid;
- ``confusion``: multiclass confusion matrices with the counting rule (row-normalised, counts printed);
- ``training_curves``: training and validation loss per epoch, from each model's sidecar history;
- ``significance``: Asimov Z (and with σ_b) against the cut on the cells' likelihood-ratio score;
- ``regression``: predicted vs true target (network and likelihood posterior mean);
- ``train_on_test_on``: the AUC matrix of each binary network on every model's test data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from darkscan.io import atomic_path

__all__ = ["task_plots"]


def __dir__() -> list[str]:
    return list(__all__)


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, target: Path) -> None:
    plt = _pyplot()
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        # no timestamp in the PNG metadata: equal plots give equal bytes
        fig.savefig(tmp, dpi=80, format="png", metadata={"Software": None})
    plt.close(fig)


def _grid(n: int, width: float = 4.5, height: float = 4.0) -> tuple[Any, np.ndarray]:
    plt = _pyplot()
    columns = min(n, 4)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), squeeze=False)
    for ax in axes.reshape(-1)[n:]:
        ax.set_visible(False)
    return fig, axes.reshape(-1)


def _roc(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (unit, lines) in enumerate(curves["roc"].items()):
        colour = colours[i % len(colours)]
        for j, (name, (fpr, tpr)) in enumerate(lines.items()):
            ax.plot(fpr, tpr, color=colour, linestyle="-" if j == 0 else "--", linewidth=1.2,
                    label=f"{unit}: {name}" if len(curves["roc"]) <= 8 else (name if i == 0 else None))
    ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
    ax.set(xlabel="false positive rate (SM)", ylabel="true positive rate (SM + signal)", title=f"{result['task']}: ROC")
    ax.legend(fontsize="x-small", loc="lower right")
    return fig


def _auc_vs_s_over_sqrt_b(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in result["units"]:
        if row.get("s_over_sqrt_b") is None or row.get("auc") is None:
            continue
        if result["labels"] == "multimodel" and row.get("per_model"):
            for name, values in row["per_model"].items():
                by_model.setdefault(name, []).append({"s_over_sqrt_b": row["s_over_sqrt_b"], **values})
        else:
            by_model.setdefault(row.get("model") or result["labels"], []).append(row)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (name, rows) in enumerate(by_model.items()):
        rows = sorted(rows, key=lambda r: r["s_over_sqrt_b"])
        x = [r["s_over_sqrt_b"] for r in rows]
        colour = colours[i % len(colours)]
        ax.plot(x, [r["auc"] for r in rows], "o-", color=colour, label=f"{name}: network")
        if all(r.get("auc_ceiling") is not None for r in rows):
            ax.plot(x, [r["auc_ceiling"] for r in rows], "-", color=colour, alpha=0.5, linewidth=3,
                    label=f"{name}: optimal ceiling")
        if all(r.get("auc_likelihood_ratio") is not None for r in rows):
            ax.plot(x, [r["auc_likelihood_ratio"] for r in rows], "x", color=colour, markersize=9,
                    label=f"{name}: likelihood ratio")
    ax.set(xlabel="S/√B", ylabel="AUC", title=f"{result['task']}: AUC vs S/√B")
    ax.legend(fontsize="x-small")
    return fig


def _confusion(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    items = list(curves["confusion"].items())[:8]
    fig, axes = _grid(len(items))
    for ax, (unit, (matrix, names)) in zip(axes, items):
        totals = matrix.sum(axis=1, keepdims=True)
        fractions = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
        ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
        for (r, c), count in np.ndenumerate(matrix):
            ax.text(c, r, str(count), ha="center", va="center", fontsize="x-small",
                    color="white" if fractions[r, c] > 0.5 else "black")
        ticks = np.arange(len(names))
        ax.set_xticks(ticks, names, rotation=60, fontsize="x-small")
        ax.set_yticks(ticks, names, fontsize="x-small")
        ax.set(xlabel="counted as (largest output > 2/N)", ylabel="true class", title=unit)
    fig.tight_layout()
    return fig


def _training_curves(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    label = len(curves["history"]) <= 8
    for i, (unit, history) in enumerate(curves["history"].items()):
        colour = colours[i % len(colours)]
        for key, style in (("loss", "-"), ("val_loss", "--")):
            if history.get(key):
                epochs = np.arange(1, len(history[key]) + 1)
                ax.plot(epochs, history[key], style, color=colour, linewidth=1,
                        label=f"{unit}: {key}" if label else (key if i == 0 else None))
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title=f"{result['task']}: training (solid) and validation (dashed)")
    ax.legend(fontsize="x-small")
    return fig


def _significance(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    label = len(curves["significance"]) <= 8
    for i, (unit, scan) in enumerate(curves["significance"].items()):
        colour = colours[i % len(colours)]
        ax.step(scan.cuts, scan.z, where="post", color=colour, label=f"{unit}: Z" if label else None)
        ax.step(scan.cuts, scan.z_sigma_b, where="post", color=colour, linestyle="--",
                label=f"{unit}: Z, σ_b = {scan.relative_sigma_b:.0%} b" if label else None)
        ax.plot([scan.cuts[scan.best]], [scan.z[scan.best]], "o", color=colour)
    ax.set(xlabel=f"cut on {result.get('significance_score', 'the cell score s/(s+b)')}", ylabel="Asimov Z", title=f"{result['task']}: cut-and-count significance")
    ax.legend(fontsize="x-small")
    return fig


def _regression(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 5.5))
    for unit, (truth, predicted, reference) in curves["regression"].items():
        ax.scatter(truth, predicted, s=4, alpha=0.3, label=f"{unit}: network")
        points = np.unique(truth)
        means = [predicted[truth == t].mean() for t in points]
        spreads = [predicted[truth == t].std() for t in points]
        ax.errorbar(points, means, yerr=spreads, fmt="o", color="black", capsize=3, label="network mean ± std")
        ax.plot(points, [reference[truth == t].mean() for t in points], "s", color="tab:red", fillstyle="none",
                label="likelihood posterior mean")
        low, high = float(points.min()), float(points.max())
        ax.plot([low, high], [low, high], color="grey", linestyle=":")
    target = next((r["regression"].get("target") for r in result["units"] if r.get("regression")), "target")
    ax.set(xlabel=f"true {target} [GeV]", ylabel=f"predicted {target} [GeV]", title=f"{result['task']}: regression")
    ax.legend(fontsize="x-small")
    return fig


def _train_on_test_on(result: dict[str, Any], curves: dict[str, Any]) -> Any:
    cross = result["train_on_test_on"]
    names = cross["models"]
    fig, axes = _grid(len(cross["s_over_sqrt_b"]), width=5, height=4.5)
    for ax, value, matrix in zip(axes, cross["s_over_sqrt_b"], cross["auc"]):
        data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
        image = ax.imshow(data, cmap="viridis", vmin=0.5, vmax=1.0)
        for (r, c), v in np.ndenumerate(data):
            ax.text(c, r, f"{v:.3f}", ha="center", va="center", fontsize="x-small", color="white")
        ticks = np.arange(len(names))
        ax.set_xticks(ticks, names, rotation=60, fontsize="x-small")
        ax.set_yticks(ticks, names, fontsize="x-small")
        ax.set(xlabel="tested on", ylabel="trained on", title=f"S/√B = {value:g}")
        ax.figure.colorbar(image, ax=ax, label="AUC")
    fig.tight_layout()
    return fig


_PLOTS: dict[str, tuple[Callable[[dict[str, Any], dict[str, Any]], Any], Callable[[dict[str, Any], dict[str, Any]], bool]]] = {
    "roc": (_roc, lambda r, c: bool(c["roc"])),
    "auc_vs_s_over_sqrt_b": (_auc_vs_s_over_sqrt_b,
                             lambda r, c: any(u.get("auc") is not None and u.get("s_over_sqrt_b") is not None for u in r["units"])),
    "confusion": (_confusion, lambda r, c: bool(c["confusion"])),
    "training_curves": (_training_curves, lambda r, c: any(c["history"].values())),
    "significance": (_significance, lambda r, c: bool(c["significance"])),
    "regression": (_regression, lambda r, c: bool(c["regression"])),
    "train_on_test_on": (_train_on_test_on, lambda r, c: r.get("train_on_test_on") is not None),
}


def task_plots(directory: Path, result: dict[str, Any], curves: dict[str, Any]) -> dict[str, str]:
    """Write the plots that apply to this task; return ``{kind: file name}`` (relative to ``directory``)."""
    import mplhep

    plt = _pyplot()
    written = {}
    with plt.style.context(mplhep.style.ROOT), plt.rc_context({"font.size": 10}):
        for kind, (draw, applies) in _PLOTS.items():
            if not applies(result, curves):
                continue
            name = f"{result['task']}_{kind}.png"
            _save(draw(result, curves), Path(directory) / name)
            written[kind] = name
    return written
