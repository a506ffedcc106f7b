"""Collect what a study's stages wrote into one report: an HTML page and a Markdown twin.

The page is self-contained (images inline as ``data:`` URIs, no script, no network); the Markdown
twin shows the same blocks with the images as files in ``report/figures/``. Both are rendered from
one list of blocks, so they cannot disagree. Sections appear when their inputs exist: a study run
up to the datasets gets a report of its samples and datasets; training and evaluation add theirs.

Nothing time-dependent is written (no dates, no timings: those are in ``manifest.json``), so the
same study and seeds give byte-identical report files.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from darkscan.io import atomic_path, write_text_atomic

__all__ = ["collect_blocks", "render_html", "render_markdown", "summary_rows", "write_report"]


def __dir__() -> list[str]:
    return list(__all__)


# ----------------------------------------------------------------------------------------------
# Blocks


@dataclasses.dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclasses.dataclass(frozen=True)
class Text:
    text: str


@dataclasses.dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""


@dataclasses.dataclass(frozen=True)
class Image:
    name: str  # file name under report/figures/
    png: bytes
    caption: str


@dataclasses.dataclass(frozen=True)
class Code:
    text: str


Block = Heading | Text | Table | Image | Code


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)


def _auc(value: Any) -> str:
    return "–" if value is None else f"{value:.3f}"


def _figure_png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    # no Software/date metadata: equal figures give equal bytes
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------
# Sections


def _evaluations(study: Any) -> dict[str, dict[str, Any]]:
    found = {}
    for task in study.training:
        path = study.output_dir / "evaluation" / f"{task.name}.json"
        if path.exists():
            found[task.name] = json.loads(path.read_text(encoding="utf-8"))
    return found


#: the exact-moment likelihood-ratio ceiling: what the evaluation reports as ``auc_ceiling``
_CEILING = "ceiling/auc_llr"


def _ceilings(study: Any) -> dict[str, tuple[list[str], list[float], np.ndarray]]:
    import h5py

    found = {}
    for task in study.training:
        path = study.output_dir / "datasets" / f"{task.name}.h5"
        if path.exists():
            with h5py.File(path, "r") as h5:
                if "ceiling" in h5:
                    found[task.name] = (json.loads(h5["ceiling"].attrs["models"]),
                                        [float(v) for v in h5["ceiling"].attrs["s_over_sqrt_b"]], h5[_CEILING if _CEILING in h5 else "ceiling/auc"][...])
    return found


def summary_rows(study: Any) -> list[tuple[str, ...]]:
    """Per task, model and S/√B: network AUC, likelihood-ratio AUC, optimal ceiling, accuracy (Bayes).

    Without an evaluation the network and likelihood-ratio columns are empty and the ceiling
    comes from the dataset file.
    """
    evaluations, ceilings = _evaluations(study), _ceilings(study)
    rows: list[tuple[str, ...]] = []
    for task in study.training:
        evaluation = evaluations.get(task.name)
        if task.network == "event_dnn":  # single events: their own table (_event_summary)
            continue
        if evaluation is not None:
            for unit in evaluation.get("units") or []:
                accuracy = unit.get("accuracy")
                bayes = unit.get("bayes_accuracy")
                rows.append((task.name, str(unit.get("model") or unit.get("unit") or "all"),
                             _number(unit.get("s_over_sqrt_b")), _auc(unit.get("auc")),
                             _auc(unit.get("auc_likelihood_ratio")), _auc(unit.get("auc_ceiling")),
                             "–" if accuracy is None else f"{accuracy:.3f}" + ("" if bayes is None else f" ({bayes:.3f})")))
        elif task.name in ceilings:
            models, grid, auc = ceilings[task.name]
            for m, model in enumerate(models):
                for j, value in enumerate(grid):
                    rows.append((task.name, model, _number(value), "–", "–", _auc(float(auc[m, j])), "–"))
    return rows


SUMMARY_HEADER = ("task", "model", "S/√B", "AUC network", "AUC likelihood ratio", "AUC ceiling",
                  "accuracy (Bayes)")


def _summary(study: Any) -> list[Block]:
    rows = summary_rows(study)
    blocks: list[Block] = [Heading("Summary")]
    if not rows and study.training and all(t.network == "event_dnn" for t in study.training):
        return []  # event-level tasks only: their table follows
    if not rows:
        return [*blocks, Text("No dataset was built yet (the study has no training task, or the run stopped before "
                              "the datasets stage).")]
    text = ("AUC of SM-only against SM + signal histograms on the test set, per S/√B, beside the likelihood-ratio "
            "classifier built from the dataset's own shapes and the optimal-AUC ceiling (the best any classifier "
            "can reach on these histograms). Multiclass tasks give the accuracy and, in brackets, the Bayes-rule "
            "accuracy on the same test set.")
    if not _evaluations(study):
        text += " The networks were not evaluated yet: only the ceilings are shown."
    return [*blocks, Text(text), Table(SUMMARY_HEADER, tuple(rows))]


EVENT_SUMMARY_HEADER = ("task", "model", "features", "AUC network", "AUC gradient boosting",
                        "Z selection (cut-and-count)", "Z network (s, b)", "Z gradient boosting (s, b)")


def _event_summary(study: Any) -> list[Block]:
    """Event-level tasks: the network beside the selection's cut-and-count and gradient-boosted trees."""
    rows = []
    evaluations = _evaluations(study)
    for task in study.training:
        if task.network != "event_dnn" or task.name not in evaluations:
            continue
        for unit in evaluations[task.name].get("units") or []:
            selection = unit.get("cut_and_count") or {}
            best, tree = unit.get("significance") or {}, unit.get("significance_gradient_boosting") or {}

            def z(point: dict[str, Any]) -> str:
                if point.get("z") is None:
                    return "–"
                return f"{_number(point['z'])} ({_number(point.get('s'))}, {_number(point.get('b'))})"

            rows.append((task.name, str(unit.get("model")), ", ".join(unit.get("features") or []), _auc(unit.get("auc")),
                         _auc(unit.get("auc_gradient_boosting")), z(selection), z(best), z(tree)))
    if not rows:
        return []
    from darkscan.ml.events import MIN_TEST_BACKGROUND

    text = (f"Event-level classifiers (event_dnn) on the test events, with physical weights σ·L/ΣW at "
            f"{study.luminosity_fb:g} fb⁻¹. Z is the Asimov discovery significance of s signal over b background "
            "events: after the study selection alone (cut-and-count), and at the best cut on the network's and the "
            f"gradient-boosted trees' score (the cut keeps at least {MIN_TEST_BACKGROUND} simulated background test events).")
    return [Heading("Event-level classifiers"), Text(text), Table(EVENT_SUMMARY_HEADER, tuple(rows))]


def _published(study: Any) -> list[Block]:
    references = getattr(getattr(study, "report", None), "published", None) or []
    if not references:
        return []
    evaluations = _evaluations(study)
    rows = []
    for ref in references:
        units = (evaluations.get(ref.task) or {}).get("units") or []
        matching = [u for u in units if ref.model in (u.get("model"), u.get("unit")) and (
            ref.s_over_sqrt_b is None or u.get("s_over_sqrt_b") == ref.s_over_sqrt_b)]
        if not matching and len(units) == 1:  # a task of one network (pure images of one signal)
            matching = units
        ours = matching[0].get(ref.metric) if matching else None
        rows.append((ref.task, ref.model, ref.metric, _number(ref.value), _number(ours), ref.source))
    return [Heading("Comparison with the published results"),
            Text("The study's `report.published` values beside ours (– where our evaluation has no such number yet)."),
            Table(("task", "model", "metric", "published", "ours", "source"), tuple(rows))]


def _interpretation(study: Any) -> list[Block]:
    from darkscan.report.interpretation import TARGET_AUCS, interpret

    rows = interpret(study)
    if not rows:
        return []
    blocks: list[Block] = [
        Heading("Interpretation: luminosity and significance"),
        Text("Each signal's selected rate σ·ε over the background's gives S/√B = R_S·√L/√R_B at luminosity L. "
             "The AUC-vs-S/√B curve (network when evaluated, else the optimal ceiling) is interpolated linearly in "
             "Φ⁻¹(AUC) from (0, 0.5), never extrapolated: '≥' marks a bound where the grid ends. The expected "
             "significance of the histogram test is Z = √2·Φ⁻¹(AUC), exact for equal-variance Gaussian scores; "
             "the check below compares it with the empirical p-value of the median SM+NP score under the SM-only "
             f"scores. Study luminosity: {study.luminosity_fb:g} fb⁻¹."),
    ]
    table = []
    for r in rows:
        lumi = [("" if exact else "≥ ") + _number(value) for value, exact in
                (r.luminosity_for_auc[t] for t in TARGET_AUCS)]
        bound = "" if r.auc_exact else "≥ "
        table.append((r.task, r.model, r.classifier, _number(r.cross_section_pb, 4), _number(r.selection_efficiency),
                      _number(r.s_over_sqrt_b), *lumi, bound + f"{r.auc_at_luminosity:.4f}",
                      bound + _number(r.z_at_luminosity)))
    blocks.append(Table(("task", "model", "AUC from", "σ [pb]", "ε", f"S/√B at {study.luminosity_fb:g} fb⁻¹",
                         *(f"L [fb⁻¹] for AUC {t:g}" for t in TARGET_AUCS), "AUC there", "Z = √2Φ⁻¹(AUC)"),
                        tuple(table)))
    check = []
    for r in rows:
        for point in r.check:
            empirical = point.z_empirical
            z = _number(empirical.z) if empirical.resolved else f"≥ {_number(empirical.z)}"
            check.append((r.task, r.model, _number(point.s_over_sqrt_b), f"{point.auc:.4f}", _number(point.z_from_auc),
                          z, str(empirical.n_background)))
    if check:
        statistic = rows[0].check_statistic
        blocks += [Text(f"Check of Z = √2·Φ⁻¹(AUC) on the dataset histograms, statistic: {statistic}."),
                   Table(("task", "model", "S/√B", "AUC", "Z = √2Φ⁻¹(AUC)", "Z from median p-value", "SM histograms"),
                         tuple(check))]
    return blocks


def _samples(study: Any) -> tuple[list[Block], dict[str, tuple[Any, dict[str, np.ndarray]]]]:
    from darkscan.readers.events import read_feature_table

    blocks: list[Block] = [Heading("Samples: cross sections and cut flows")]
    rows, tables = [], {}
    flows: list[Block] = []
    for point in study.plan():
        path = point.directory / "features.parquet"
        if not path.exists():
            rows.append((point.sample, point.point_id, point.process, point.role, "–", "–", "–", "not produced"))
            continue
        columns, meta = read_feature_table(path)
        tables[f"{point.sample}/{point.point_id}"] = (point, columns)
        cutflow = meta.extra.get("cutflow") or []
        efficiency = cutflow[-1]["efficiency"] if cutflow else None
        rows.append((point.sample, point.point_id, point.process, point.role, _number(meta.cross_section_pb, 4),
                     str(meta.n_accepted), _number(efficiency), _number(cutflow[-1]["yield_events"] if cutflow else None)))
        if cutflow:
            flows.append(Table(("cut", "events", "efficiency", f"yield at {study.luminosity_fb:g} fb⁻¹"),
                               tuple((c["cut"], str(c["events"]), _number(c["efficiency"]), _number(c["yield_events"]))
                                     for c in cutflow), caption=f"cut flow of {point.sample}/{point.point_id}"))
    blocks.append(Table(("sample", "point", "process", "role", "σ [pb]", "events", "selection ε",
                         f"selected at {study.luminosity_fb:g} fb⁻¹"), tuple(rows)))
    return [*blocks, *flows], tables


#: features always drawn in the kinematics figure (when defined for the selected events)
KINEMATICS = ("met", "leading_jet_pt", "leading_jet_eta", "n_jets_30", "dphi_min_jets_met", "mll")


def _kinematics(study: Any, tables: dict[str, tuple[Any, dict[str, np.ndarray]]]) -> list[Block]:
    if not tables:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = list(dict.fromkeys([*KINEMATICS, *(a.feature for h in study.histograms for a in h.axes)]))

    def selected(columns: dict[str, np.ndarray]) -> np.ndarray:
        return columns["passed"].astype(bool) if "passed" in columns else np.ones(len(columns["weight"]), dtype=bool)

    shown = [f for f in features if any(np.isfinite(c[f][selected(c)]).any() for _, c in tables.values())][:9]
    if not shown:
        return []
    columns_n = 3
    rows_n = math.ceil(len(shown) / columns_n)
    fig, axes = plt.subplots(rows_n, columns_n, figsize=(4.2 * columns_n, 3.0 * rows_n), squeeze=False)
    backgrounds = [(p, c) for p, c in tables.values() if p.role == "background"]
    signals = [(p, c) for p, c in tables.values() if p.role == "signal"][:8]
    for ax, feature in zip(axes.flat, shown):
        values = [c[feature][selected(c)] for _, c in tables.values()]
        finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
        if finite.size == 0:
            ax.set_visible(False)
            continue
        low, high = np.percentile(finite, [0.5, 99.5])
        if high <= low:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, 31)
        if backgrounds:
            # backgrounds stacked in their physical proportions (σ · w / Σw): the SM as a whole
            total = np.zeros(len(edges) - 1)
            for point, c in backgrounds:
                keep = selected(c) & np.isfinite(c[feature])
                path = point.directory / "features.parquet"
                from darkscan.readers.events import read_event_table_metadata

                meta = read_event_table_metadata(path)
                scale = meta.cross_section_pb / meta.sum_weights if meta.sum_weights > 0 else 1.0
                counts, _ = np.histogram(np.clip(c[feature][keep], low, high), edges, weights=c["weight"][keep] * scale)
                total += counts
            if total.sum() > 0:
                ax.stairs(total / total.sum(), edges, fill=True, alpha=0.35, color="grey", label="SM background")
        for point, c in signals:
            keep = selected(c) & np.isfinite(c[feature])
            counts, _ = np.histogram(np.clip(c[feature][keep], low, high), edges, weights=c["weight"][keep])
            if counts.sum() > 0:
                ax.stairs(counts / counts.sum(), edges, label=f"{point.sample} {point.point_id}")
        from darkscan.analysis.features import FEATURES

        unit = FEATURES.get(feature, ("", ""))[0]
        ax.set(xlabel=f"{feature} [{unit}]" if unit else feature, ylabel="fraction of selected events")
        ax.legend(fontsize="x-small")
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    fig.tight_layout()
    return [Heading("Kinematic distributions"),
            Text("Selected events, each distribution normalised to unit area; the SM background is the mix of the "
                 "background samples in their physical proportions (σ·selected weight)."),
            Image("kinematics.png", _figure_png(fig), "signal vs background after the selection")]


def _datasets(study: Any) -> list[Block]:
    blocks: list[Block] = []
    for task in study.training:
        png = study.output_dir / "datasets" / f"{task.name}.png"
        if png.exists():
            blocks.append(Image(f"dataset-{task.name}.png", png.read_bytes(),
                                f"{task.name}: mean histograms per class ({task.labels}, histogram {task.histogram})"))
    if not blocks:
        return []
    settings = study.datasets
    return [Heading("Example histograms"),
            Text(f"Datasets: B = {settings.background_events:,} background events per histogram, "
                 f"{settings.n_histograms:,} histograms per class and S/√B, S/√B ∈ "
                 f"{{{', '.join(f'{v:g}' for v in settings.s_over_sqrt_b)}}}, counts {settings.counts}."),
            *blocks]


_PLOT_TITLES = {
    "training_curves": "training curves", "roc": "ROC curves", "auc_vs_s_over_sqrt_b": "AUC vs S/√B with the ceiling",
    "confusion": "confusion matrices", "train_on_test_on": "train on A, test on B", "significance": "significance scans",
    "regression": "regression: predicted vs true",
}


def _plot_file(study: Any, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else study.output_dir / "evaluation" / path


def _evaluation(study: Any) -> list[Block]:
    blocks: list[Block] = []
    for task, evaluation in _evaluations(study).items():
        section: list[Block] = []
        shown: set[str] = set()

        def add(key: str, name: str | None, caption: str) -> None:
            if name and name not in shown and _plot_file(study, name).is_file():
                shown.add(name)
                section.append(Image(f"{task}-{Path(name).stem}.png", _plot_file(study, name).read_bytes(), caption))

        plots = dict(evaluation.get("plots") or {})
        for key in (*_PLOT_TITLES, *sorted(set(plots) - set(_PLOT_TITLES))):
            add(key, plots.get(key), f"{task}: {_PLOT_TITLES.get(key, key)}")
        for unit in evaluation.get("units") or []:  # plots of single units the task's plots do not show
            for key, name in sorted((unit.get("plots") or {}).items()):
                add(key, name, f"{task}, {unit.get('unit')}: {_PLOT_TITLES.get(key, key)}")
        matrix = evaluation.get("train_on_test_on")
        if matrix and matrix.get("auc"):
            values = matrix.get("s_over_sqrt_b")
            matrices = matrix["auc"] if isinstance(values, list) else [matrix["auc"]]
            values = values if isinstance(values, list) else [values]
            for value, aucs in zip(values, matrices):
                section.append(Table(("trained on \\ tested on", *matrix["models"]),
                                     tuple((m, *(_auc(a) for a in row)) for m, row in zip(matrix["models"], aucs)),
                                     caption=f"{task}: AUC of each model's network on every model's test data, "
                                             f"S/√B = {_number(value)}"))
        regression = [(str(u.get("unit")), _number((u.get("regression") or {}).get("mae")),
                       _number((u.get("regression") or {}).get("mape")), _number((u.get("regression") or {}).get("rmse")))
                      for u in evaluation.get("units") or [] if u.get("regression")]
        if regression:
            section.append(Table(("unit", "MAE [GeV]", "MAPE [%]", "RMSE [GeV]"), tuple(regression),
                                 caption=f"{task}: regression"))
        if section:
            blocks += [Heading(f"Training and evaluation: {task}", 3), *section]
    return [Heading("Training and evaluation"), *blocks] if blocks else []


def _provenance(study: Any) -> list[Block]:
    from darkscan.pipeline import read_manifest, versions

    manifest = read_manifest(study)
    blocks: list[Block] = [Heading("Provenance")]
    found = versions()
    blocks.append(Table(("package", "version"), tuple((k, v or "not installed") for k, v in found.items())))
    seeds = [("generator.seed", str(study.generator.seed)), ("datasets.seed", str(study.datasets.seed))]
    seeds += [(f"{p.sample}/{p.point_id}", str(p.seed)) for p in study.plan()]
    blocks.append(Table(("seed of", "value"), tuple(seeds)))
    # Saved Keras models carry training timings and zip timestamps, so their bytes (and the
    # fingerprints of the stages that read them) differ between identical runs; their metrics do not.
    # Only reproducible files are listed, so that the report itself stays byte-identical.
    stages = {k: v for k, v in manifest.get("stages", {}).items() if k in REPRODUCIBLE_STAGES}
    if stages:
        blocks.append(Table(("stage", "fingerprint", "outputs"),
                            tuple((name, entry["fingerprint"][:16], str(len(entry.get("outputs", {}))))
                                  for name, entry in stages.items())))
        hashes = [(name, digest[:16]) for stage, entry in manifest.get("stages", {}).items()
                  if stage in (*REPRODUCIBLE_STAGES, "evaluation")
                  for name, digest in entry.get("outputs", {}).items()
                  if not name.startswith("samples/") or name.endswith("features.parquet")]
        if hashes:
            blocks.append(Text("Content hashes of the outputs (the same study and seeds give the same bytes; the "
                               "trained models in models/ are not byte-reproducible, their metrics in evaluation/ "
                               "are)."))
            blocks.append(Table(("output", "sha256 (first 16)"), tuple(hashes[:200])))
    return blocks


#: stages whose fingerprints depend only on the study and its seeds
REPRODUCIBLE_STAGES = ("generation", "features", "datasets")


def collect_blocks(study: Any) -> list[Block]:
    """Every section of the report, from what is on disk."""
    samples, tables = _samples(study)
    blocks: list[Block] = [Heading(f"darkscan study {study.name}", 1)]
    if study.description:
        blocks.append(Text(study.description.strip()))
    blocks += _summary(study)
    blocks += _event_summary(study)
    blocks += _published(study)
    blocks += _interpretation(study)
    blocks += samples
    blocks += _kinematics(study, tables)
    blocks += _datasets(study)
    blocks += _evaluation(study)
    text = study.source.read_text(encoding="utf-8") if study.source is not None and study.source.exists() else ""
    blocks += [Heading("Study file"), Code(text)]
    blocks += _provenance(study)
    return blocks


# ----------------------------------------------------------------------------------------------
# Rendering

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.2em;font-size:0.9em}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right}th{background:#eee}td:first-child,td:nth-child(2){text-align:left}figure{margin:1em 0}
img{max-width:100%}pre{background:#f6f6f6;padding:0.8em;overflow-x:auto;font-size:0.85em}
caption{caption-side:top;text-align:left;font-style:italic}"""


def render_html(blocks: list[Block]) -> str:
    """The page: every image inline, no external resource."""
    e = html.escape
    title = next((b.text for b in blocks if isinstance(b, Heading)), "darkscan report")
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
             f"<style>{_STYLE}</style></head><body>"]
    for block in blocks:
        if isinstance(block, Heading):
            parts.append(f"<h{block.level}>{e(block.text)}</h{block.level}>")
        elif isinstance(block, Text):
            parts.append(f"<p>{e(block.text)}</p>")
        elif isinstance(block, Table):
            caption = f"<caption>{e(block.caption)}</caption>" if block.caption else ""
            head = "".join(f"<th>{e(h)}</th>" for h in block.header)
            body = "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            parts.append(f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Image):
            data = base64.b64encode(block.png).decode("ascii")
            parts.append(f'<figure><img alt="{e(block.caption)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{e(block.caption)}</figcaption></figure>")
        elif isinstance(block, Code):
            parts.append(f"<pre>{e(block.text)}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_markdown(blocks: list[Block]) -> str:
    """The Markdown twin; images are ``figures/<name>`` beside it."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    parts = []
    for block in blocks:
        if isinstance(block, Heading):
            parts.append("#" * block.level + " " + block.text)
        elif isinstance(block, Text):
            parts.append(block.text)
        elif isinstance(block, Table):
            lines = [f"*{block.caption}*", ""] if block.caption else []
            lines.append("| " + " | ".join(cell(h) for h in block.header) + " |")
            lines.append("|" + "|".join("---" for _ in block.header) + "|")
            lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Image):
            parts.append(f"![{block.caption}](figures/{block.name})")
        elif isinstance(block, Code):
            parts.append("```yaml\n" + block.text.rstrip("\n") + "\n```")
    return "\n\n".join(parts) + "\n"


def write_report(study: Any, *, progress: Any = None) -> list[Path]:
    """Write ``report/index.html``, ``report/report.md`` and ``report/figures/*.png``; return the two pages."""
    directory = study.output_dir / "report"
    blocks = collect_blocks(study)
    figures = directory / "figures"
    for block in blocks:
        if isinstance(block, Image):
            with atomic_path(figures / block.name) as tmp:
                tmp.write_bytes(block.png)
    html_path, md_path = directory / "index.html", directory / "report.md"
    write_text_atomic(md_path, render_markdown(blocks))
    write_text_atomic(html_path, render_html(blocks))
    return [html_path, md_path]
