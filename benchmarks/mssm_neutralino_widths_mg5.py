"""MG5_aMC's 2-body widths of the heavier neutralinos on MSSM_SLHA2 spectra (tests/data/mssm_neutralino_widths_mg5.json).

darkscan computes the χ̃⁰₂₋₄ widths of a moved spectrum itself
(:func:`darkscan.cards.slha.neutralino_partial_widths_gev`); tests/test_mssm_widths.py compares them,
channel by channel, with the numbers this script records from MG5 3.5.7's ``compute_widths
1000023 1000025 1000035 --body_decay=2`` (MSSM_SLHA2 has no decays.py: MG5 integrates each 2-body
channel with madevent). Spectra (sfermions and gluino heavy, so only the χ̃⁰/χ̃±/Higgs channels are open):

- ``n1_monoz_m_dm_150``: the param card of the example's n1_monoz m_dm-150 point as darkscan renders it;
- ``split``: the reference spectrum with squarks, sleptons, sneutrinos and gluino at 3 TeV and
  χ̃⁰₃ at -650, χ̃⁰₄ at 700, χ̃±₂ at 690 GeV, so that the H, A and H± channels open too (χ̃⁰₂ at
  181 GeV has no open 2-body channel there: MG5 then leaves the card's width, 0.020777, untouched).

Run: ``PYTHONPATH=src python benchmarks/mssm_neutralino_widths_mg5.py [--output PATH]`` (135 s CPU, 2 spectra).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

MG5_HOME = Path(os.environ.get("DARKSCAN_MG5_HOME", Path.home() / ".cache/darkscan/MG5_aMC_v3_5_7"))
OUTPUT = ROOT / "tests" / "data" / "mssm_neutralino_widths_mg5.json"
NEUTRALINOS = (1000023, 1000025, 1000035)
_SFERMIONS_AND_GLUINO = (*range(1000001, 1000017), 1000021, *range(2000001, 2000007), 2000011, 2000013, 2000015)


def spectra() -> dict[str, dict[int, float]]:
    """Name → the complete MASS block (PDG → GeV) of every spectrum MG5 is asked about."""
    from darkscan.cards.slha import MSSM_MASSES, parse_slha, render_param_card
    from darkscan.registry import get_process

    process = get_process("neutralino_monoz")
    point = {"m_dm": 150.0, "m_sneutrino": 3000.0, "m_sneutrino_tau": 3000.0, "m_sparticles": 3000.0}
    example = {ids[0]: float(m) for ids, m in parse_slha(render_param_card(process, point))["MASS"].items()}
    split = {pdg: mass for pdg, mass, _ in MSSM_MASSES}
    split.update({pdg: 3000.0 for pdg in _SFERMIONS_AND_GLUINO if pdg in split})
    split.update({1000025: -650.0, 1000035: 700.0, 1000037: 690.0})
    return {"n1_monoz_m_dm_150": example, "split": split}


def param_card(masses: dict[int, float]) -> str:
    """The reference MG5 param card with the MASS block replaced by ``masses``."""
    from darkscan.cards.slha import render_param_card
    from darkscan.registry import get_process

    process = get_process("neutralino_monoz")
    lines, block = [], None
    for line in render_param_card(process, process.defaults()).splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] and words[0].upper() in ("BLOCK", "DECAY"):
            block = words[1].upper() if words[0].upper() == "BLOCK" else None
        elif block == "MASS" and len(words) == 2 and int(words[0]) in masses:
            line = f"  {int(words[0]):9d} {masses[int(words[0])]:.7e}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def parse_decays(text: str) -> dict[int, dict[str, object]]:
    """``{pdg: {"width": GeV, "channels": {"ID1 ID2": partial width GeV}}}`` of an SLHA decay section."""
    out: dict[int, dict[str, object]] = {}
    current = None
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if words[0].upper() == "DECAY":
            current = int(words[1])
            out[current] = {"width": float(words[2]), "channels": {}}
        elif words[0].upper() == "BLOCK":
            current = None
        elif current is not None and len(words) >= 3 and int(words[1]) == len(words) - 2:
            entry = out[current]
            channel = " ".join(sorted(words[2:], key=lambda w: (-abs(int(w)), w)))
            entry["channels"][channel] = float(words[0]) * float(entry["width"])  # type: ignore[index]
    return out


def run_mg5(masses_by_name: dict[str, dict[int, float]], workdir: Path) -> dict[str, dict[int, dict[str, object]]]:
    script = ["set auto_update 0 --no_save", "import model MSSM_SLHA2-full"]
    for name, masses in masses_by_name.items():
        (workdir / f"{name}.dat").write_text(param_card(masses))
        script.append(f"compute_widths {' '.join(map(str, NEUTRALINOS))} --body_decay=2 "
                      f"--path={workdir / f'{name}.dat'} --output={workdir / f'{name}_widths.dat'}")
    (workdir / "widths.mg5").write_text("\n".join(script) + "\n")
    env = {**os.environ, "PATH": f"{MG5_HOME / 'darkscan-bin'}:{os.environ['PATH']}"}
    with (workdir / "mg5.log").open("w") as log:
        subprocess.run(["nice", "-n", "10", sys.executable, str(MG5_HOME / "bin" / "mg5_aMC"), "widths.mg5"],
                       cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=True, timeout=3600)
    text = (workdir / "mg5.log").read_text()
    if re.search(r"^(Error|InvalidCmd)|command not executed", text, re.M):
        raise SystemExit(f"MG5 failed: {workdir / 'mg5.log'}")
    results = {}
    for name in masses_by_name:
        decays = parse_decays((workdir / f"{name}_widths.dat").read_text())
        results[name] = {pdg: decays[pdg] for pdg in NEUTRALINOS}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--keep", type=Path, help="run MG5 in this folder and keep it")
    args = parser.parse_args()
    masses = spectra()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        widths = run_mg5(masses, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="mssm-widths-") as tmp:
            widths = run_mg5(masses, Path(tmp))
    record = {
        "source": "MG5_aMC 3.5.7, import model MSSM_SLHA2-full, compute_widths 1000023 1000025 1000035 "
                  "--body_decay=2 (benchmarks/mssm_neutralino_widths_mg5.py)",
        "spectra": {name: {"masses": {str(p): m for p, m in sorted(masses[name].items())},
                           "widths": {str(p): w for p, w in widths[name].items()}} for name in masses},
    }
    args.output.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    for name, per_pdg in widths.items():
        for pdg, entry in per_pdg.items():
            print(f"{name:<20s} {pdg}: {entry['width']:.7g} GeV, {len(entry['channels'])} channels")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
