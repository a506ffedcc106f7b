"""Delphes 3.5.1 as ``.ci/install-delphes`` builds it (against ROOT from PyPI) reproduces the reference
Delphes output in shared/data event by event (same HepMC3 input, same card, same seed)."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest

from darkscan.gen.executors import LocalExecutor, run_step
from shared import delphes_home, shared_data


@pytest.mark.slow
def test_built_delphes_reproduces_the_reference_output(tmp_path: Path) -> None:
    import uproot

    home, data = delphes_home(), shared_data()
    hepmc = tmp_path / "znunu_first5.hepmc"
    with gzip.open(data / "delphes" / "znunu_jet_first5.hepmc.gz", "rb") as src, open(hepmc, "wb") as dst:
        shutil.copyfileobj(src, dst)
    card = tmp_path / "card.tcl"
    card.write_text("".join(path.read_text() for path in (
        home / "cards" / "delphes_card_ATLAS.tcl", data / "delphes" / "cards" / "override_common.tcl",
        data / "delphes" / "cards" / "override_slim_output.tcl")))
    executor = LocalExecutor(delphes=home)
    output = tmp_path / "out.root"
    run_step(executor, executor.delphes_command(card, output, hepmc), workdir=executor.delphes_workdir(),
             log=tmp_path / "delphes.log", timeout_s=600)
    ours = uproot.open(output)["Delphes"]
    reference = uproot.open(data / "delphes" / "znunu_jet_500ev_ATLAS_slim.root")["Delphes"]
    assert ours.num_entries == 5
    for leaf in ("Jet.PT", "Jet.Eta", "MissingET.MET", "MissingET.Phi", "ScalarHT.HT"):
        mine = ours[leaf].array(library="np")
        theirs = reference[leaf].array(library="np", entry_stop=5)
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a, b, err_msg=leaf)
