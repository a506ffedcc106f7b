"""Plain-text description of an event file: format, events, σ, fields, a few distributions.

Used by ``darkscan histos inspect``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["describe", "summarise"]

#: features summarised by :func:`describe`
SUMMARY_FEATURES = ("met", "invisible_pt", "ht", "n_jets", "leading_jet_pt", "n_leptons", "mll", "leading_photon_pt")


def summarise(features: Mapping[str, Any], names: tuple[str, ...] = SUMMARY_FEATURES) -> str:
    """One text line per feature: defined fraction, mean and quantiles (min, 25 %, 50 %, 75 %, max)."""
    import numpy as np

    from darkscan.analysis.features import FEATURES

    lines = [f"{'feature':<20} {'unit':<8} {'defined':>8} {'mean':>10} {'min':>10} {'25%':>10} {'50%':>10} {'75%':>10} {'max':>10}"]
    for name in names:
        if name not in features:
            continue
        values = np.asarray(features[name], dtype=np.float64)
        finite = values[np.isfinite(values)]
        unit = FEATURES.get(name, ("", ""))[0]
        if finite.size == 0:
            lines.append(f"{name:<20} {unit:<8} {_percent(0, values.size):>8} {'—':>10}")
            continue
        q = np.quantile(finite, [0.0, 0.25, 0.5, 0.75, 1.0])
        lines.append(f"{name:<20} {unit:<8} {_percent(finite.size, values.size):>8} {finite.mean():>10.4g} "
                     + " ".join(f"{v:>10.4g}" for v in q))
    return "\n".join(lines)


def _percent(count: int, total: int) -> str:
    """A defined fraction that never rounds a non-empty count to 0 % (or a partial one to 100 %)."""
    if total == 0 or count == 0:
        return "0%"
    if count == total:
        return "100%"
    fraction = count / total
    for digits in range(0, 6):
        text = f"{fraction:.{digits}%}"
        if 0 < float(text.rstrip("%")) < 100:
            return text
    return f"{fraction:.2g}"


def _metadata_lines(metadata: Any) -> list[str]:
    return [
        f"sample: {metadata.sample} (source {metadata.source}, {metadata.level} level)",
        f"cross section: {metadata.cross_section_pb:.6g} ± {metadata.cross_section_error_pb:.3g} pb; "
        f"Σ weights {metadata.sum_weights:.6g}; accepted {metadata.n_accepted}; trials {metadata.n_trials}",
    ]


def describe(path: str | os.PathLike[str]) -> str:
    """Text description of ``path`` (any format :mod:`darkscan.readers.sources` reads)."""
    import awkward as ak
    import numpy as np

    from darkscan.analysis.features import compute_features
    from darkscan.readers.sources import default_invisible_pdgids, detect_format, load_event_table
    from darkscan.errors import InputFileError

    path = Path(path)
    fmt = detect_format(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: empty file")
    lines = [f"{path}: {fmt}"]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        from darkscan.readers.events import read_event_table_metadata, read_feature_table

        metadata = read_event_table_metadata(path)
        schema = pq.read_schema(path)
        lines += _metadata_lines(metadata)
        if "jets" not in schema.names:
            columns, _ = read_feature_table(path)
            n = len(next(iter(columns.values()))) if columns else 0
            lines.append(f"feature table: {n} events, {len(columns)} columns: {', '.join(columns)}")
            if "passed" in columns:
                lines.append(f"passed the selection: {int(np.sum(columns['passed']))} of {n}")
            for row in metadata.extra.get("cutflow", []):
                lines.append(f"  cut flow: {row['cut']:<46} {row['events']:>8} events, yield {row['yield_events']:.5g}")
            lines.append(summarise(columns))
            return "\n".join(lines)
        events, _ = load_event_table(path)
        lines.append(f"event table: {len(events)} events; fields {', '.join(ak.fields(events))}")
    elif fmt == "lhe":
        from darkscan.readers import lhe

        with lhe.open(path) as handle:
            init = handle.init
            sample_sigma, sample_error = handle.sample_cross_section()
            arrays = handle.read()
        lines.append(f"LHEF version {init.version or '?'}; beams {init.beams[0]} × {init.beams[1]} at "
                     f"{init.energies_gev[0]:g} + {init.energies_gev[1]:g} GeV; PDF sets {init.pdf_sets}; "
                     f"weighting strategy IDWTUP = {init.weighting_strategy}")
        for process in init.processes:
            lines.append(f"  process {process.lprup}: σ = {process.xsec_pb:.6g} ± {process.error_pb:.3g} pb, "
                         f"max weight {process.xmax:.6g}")
        source = handle.cross_section_source
        lines.append(f"  sample σ = {sample_sigma:.6g} ± {sample_error:.3g} pb ({source}; used downstream)")
        if init.generators:
            lines.append("generators: " + ", ".join(f"{n} {v}".strip() for n, v in init.generators))
        weight_names = ak.fields(arrays.weights) if "weights" in ak.fields(arrays) else []
        lines.append(f"{len(arrays)} events; named weights: {len(weight_names)}"
                     + (f" ({', '.join(weight_names[:8])}{' …' if len(weight_names) > 8 else ''})" if weight_names else ""))
        ids, counts = np.unique(np.abs(ak.to_numpy(ak.flatten(arrays.particles.id[arrays.particles.status == 1]))),
                                return_counts=True)
        order = np.argsort(-counts)[:10]
        lines.append("outgoing particles |id| (per event): "
                     + ", ".join(f"{ids[i]}: {counts[i] / len(arrays):.2f}" for i in order))
        invisible = default_invisible_pdgids()
        events, _ = load_event_table(path, invisible_pdgids=invisible)
        lines.append(f"parton-level summaries (invisible: ν and the registry's BSM ids {list(invisible)}):")
    elif fmt == "hepmc":
        from darkscan.readers import hepmc

        arrays = hepmc.read(path)
        lines.append(f"{len(arrays)} events; σ (last event) = {arrays.cross_section_pb[-1]:.6g} ± "
                     f"{arrays.cross_section_error_pb[-1]:.3g} pb; weights: {', '.join(ak.fields(arrays.weights))}; "
                     f"particles per event: {np.mean(ak.to_numpy(ak.num(arrays.particles))):.0f}")
        events = hepmc.table_from_arrays(arrays, invisible_pdgids=default_invisible_pdgids())  # no second read
    else:
        from darkscan.readers import delphes

        with delphes.open(path) as handle:
            branches = [b for b in handle.branches if not b.endswith("_size")]
            lines.append(f"Delphes tree: {handle.num_entries} events; branches: {', '.join(branches)}")
        events, metadata = load_event_table(path, invisible_pdgids=default_invisible_pdgids())
        lines += _metadata_lines(metadata)
    lines.append(summarise(compute_features(events)))
    return "\n".join(lines)


def __dir__() -> list[str]:
    return list(__all__)
