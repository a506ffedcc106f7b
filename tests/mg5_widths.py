"""Run MG5_aMC's ``compute_widths`` on DMsimp mediators at chosen parameter points (tests and provenance).

``python tests/mg5_widths.py`` prints the widths at :data:`POINTS` (the numbers in test_widths.py
came from it, MG5_aMC 3.5.7).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from darkscan.registry import get_process

#: (process, parameters) points checked against MG5
POINTS: list[tuple[str, dict[str, float]]] = [
    ("spin1_monojet", {}),
    ("spin1_monojet", {"m_med": 300.0, "m_dm": 100.0}),
    ("spin1_monojet", {"m_med": 2000.0, "m_dm": 990.0, "g_q": 0.1, "ga_q": 0.2, "ga_dm": 0.5}),
    ("spin0_monojet", {}),
    ("spin0_monojet", {"m_med": 300.0, "m_dm": 50.0}),
    ("spin0_monojet", {"m_med": 500.0, "m_dm": 200.0, "gp_q": 0.5, "gp_dm": 0.7, "g_dm": 0.3}),
    ("spin2_monojet", {}),
    ("spin2_monojet", {"m_med": 500.0, "m_dm": 100.0, "lambda_med": 3000.0, "g_g": 0.5, "g_q": 2.0}),
]

_PDG = {"spin0": 54, "spin1": 55, "spin2": 5000002}


def _set_entries(card: str, process_name: str, parameters: Mapping[str, float]) -> str:
    process = get_process(process_name)
    block = None
    lines = []
    for line in card.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] and words[0].upper() == "BLOCK":
            block = words[1].upper()
        elif words and block and words[0].upper() != "DECAY":
            for name, value in parameters.items():
                for entry in process.parameter(name).entries:
                    if entry.block.upper() == block and tuple(map(int, words[:-1])) == entry.ids:
                        line = f"    {' '.join(map(str, entry.ids))} {value:.10e} # darkscan {name}"
        if words[:1] and words[0].upper() == "DECAY":
            block = None
        lines.append(line)
    return "\n".join(lines) + "\n"


def mg5_widths(mg5: Path, points: Sequence[tuple[str, Mapping[str, float]]], workdir: Path) -> list[float]:
    """MG5's two-body ``compute_widths`` of the mediator at every point (GeV)."""
    env = {**os.environ, "PATH": f"{mg5 / 'darkscan-bin'}:{os.environ['PATH']}"}

    def run(script: str, name: str) -> None:
        path = workdir / f"{name}.mg5"
        path.write_text(script)
        log = workdir / f"{name}.log"
        with log.open("w") as out:
            subprocess.run([sys.executable, str(mg5 / "bin" / "mg5_aMC"), str(path)], stdout=out,
                           stderr=subprocess.STDOUT, check=True, timeout=600, cwd=workdir)
        if re.search(r"^(Error|InvalidCmd)|command not executed", log.read_text(), re.M):
            raise RuntimeError(f"MG5 failed, see {log}")

    families = sorted({get_process(p).family for p, _ in points})
    script = []
    for family in families:
        process = get_process(f"{family}_monojet")
        script += [f"import model {process.mg5_import}",
                   f"compute_widths {_PDG[family]} --body_decay=2 --output={workdir / f'default_{family}.dat'}"]
    run("\n".join(script) + "\n", "defaults")
    script = []
    for i, (name, parameters) in enumerate(points):
        family = get_process(name).family
        card = workdir / f"point_{i}.dat"
        card.write_text(_set_entries((workdir / f"default_{family}.dat").read_text(), name, parameters))
        script += [f"import model {get_process(name).mg5_import}",
                   f"compute_widths {_PDG[family]} --body_decay=2 --path={card} --output={workdir / f'width_{i}.dat'}"]
    run("\n".join(script) + "\n", "points")
    widths = []
    for i, (name, _) in enumerate(points):
        text = (workdir / f"width_{i}.dat").read_text()
        match = re.search(rf"^DECAY\s+{_PDG[get_process(name).family]}\s+(\S+)", text, re.M)
        if not match:
            raise RuntimeError(f"no mediator DECAY line in {workdir / f'width_{i}.dat'}")
        widths.append(float(match.group(1)))
    return widths


if __name__ == "__main__":
    import tempfile

    from shared import MG5_HOME

    with tempfile.TemporaryDirectory() as tmp:
        for (name, parameters), width in zip(POINTS, mg5_widths(MG5_HOME, POINTS, Path(tmp))):
            print(f"{name} {parameters} {width!r}")
