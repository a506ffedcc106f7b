"""MadGraph5 reference samples for the embedded-generator validation, made when missing.

Each sample is one registry process at one parameter point, rendered with darkscan's own MG5
script template (:func:`darkscan.cards.mg5.render_mg5_script`, the same cards the MadGraph backend
uses), run with the installed MG5_aMC (``.ci/install-mg5``) and cached outside the checkout in
``$DARKSCAN_VALIDATION_CACHE`` (default ``~/.cache/darkscan/validation/``), keyed by a hash of the
script. A cached LHE is reused; a missing one is generated (about a minute per 2 → 2 point).

Run alone to fill the cache: ``PYTHONPATH=src python benchmarks/mg5_samples.py [NAME ...]``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from darkscan.cards.mg5 import MG5Settings, render_mg5_script  # noqa: E402
from darkscan.registry import get_process  # noqa: E402
from darkscan.study import SamplePoint  # noqa: E402

MG5_HOME = Path(os.environ.get("DARKSCAN_MG5_HOME", Path.home() / ".cache/darkscan/MG5_aMC_v3_5_7"))
CACHE = Path(os.environ.get("DARKSCAN_VALIDATION_CACHE", Path.home() / ".cache/darkscan/validation"))
N_EVENTS = 3000
MG5_SEED = 21
#: a loop-induced sample's first run also builds MadLoop's tools (over an hour on a loaded 2-core machine)
TIMEOUT_S = 3 * 3600

#: name → (registry process, parameters overriding the registry defaults); the spin-1 points are
#: the issue's reference points (Γ fixed at 10 GeV, ptj > 130)
SAMPLES: dict[str, tuple[str, dict[str, float]]] = {
    "spin1_m500": ("spin1_monojet", {"m_med": 500.0, "w_med": 10.0}),
    "spin1_m1000": ("spin1_monojet", {"m_med": 1000.0, "w_med": 10.0}),
    "spin1_m2000": ("spin1_monojet", {"m_med": 2000.0, "w_med": 10.0}),
    "spin2_default": ("spin2_monojet", {}),
    "alp_default": ("alp_monojet", {}),
    "neutralino_default": ("neutralino_monojet", {}),
    "znunu_jet": ("sm_znunu_jet", {}),
    "wlnu_jet": ("sm_wlnu_jet", {}),
    "zz_llvv": ("sm_zz_llvv", {}),
    "zll_jet": ("sm_zll_jet", {}),
    "ttbar": ("sm_ttbar", {}),
    "wz_lvll": ("sm_wz_lvll", {}),
    "ww_lvlv": ("sm_ww_lvlv", {}),
    # loop-induced ([noborn=QCD]): MG5 builds MadLoop's tools on the first run
    "spin0_default": ("spin0_monojet", {}),
}


def sample_point(name: str) -> SamplePoint:
    process_name, overrides = SAMPLES[name]
    process = get_process(process_name)
    parameters: dict[str, float | str] = {**process.defaults(), **overrides}
    return SamplePoint(sample=name, process=process_name, role=process.role, index=0, point_id="p0",
                       parameters=parameters, scanned={}, generation_cuts=dict(process.generation_cuts),
                       n_events=N_EVENTS, seed=MG5_SEED, directory=CACHE / name)


def mg5_lhe(name: str, *, make: bool = True) -> Path | None:
    """The cached MG5 LHE of sample ``name``; generated with MG5 when missing (``make``)."""
    point = sample_point(name)
    script = render_mg5_script(point, study_name="validation", settings=MG5Settings(output_dir="mg5"))
    key = hashlib.sha256(script.encode()).hexdigest()[:12]
    final = CACHE / f"{name}-{key}.lhe.gz"
    if final.is_file() or not make:
        return final if final.is_file() else None
    if not (MG5_HOME / "bin" / "mg5_aMC").is_file():
        raise SystemExit(f"MG5 not installed at {MG5_HOME}: run .ci/install-mg5")
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=CACHE))
    (work / "madgraph.mg5").write_text(script, encoding="utf-8")
    log = CACHE / f"{name}-{key}.log"
    argv = ["nice", "-n", "10", "python3", str(MG5_HOME / "bin" / "mg5_aMC"), "madgraph.mg5"]
    env = {**os.environ, "PATH": f"{MG5_HOME / 'darkscan-bin'}:{os.environ['PATH']}"}
    with open(log, "w") as out:
        result = subprocess.run(argv, cwd=work, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=TIMEOUT_S,
                                check=False)
    produced = sorted((work / "mg5" / "Events").glob("run_*/unweighted_events.lhe.gz"))
    if result.returncode != 0 or not produced:
        raise SystemExit(f"MG5 failed for {name}: {' '.join(argv)} exited {result.returncode}, "
                         f"no unweighted_events.lhe.gz; log: {log}")
    tmp = final.with_suffix(".tmp")
    shutil.copyfile(produced[-1], tmp)
    tmp.replace(final)
    shutil.rmtree(work, ignore_errors=True)
    return final


if __name__ == "__main__":
    for sample in sys.argv[1:] or list(SAMPLES):
        print(sample, mg5_lhe(sample), flush=True)
