"""Delphes ROOT and HepMC3 readers on the real files of shared/data/delphes."""

from __future__ import annotations

import gzip
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from shared import SHARED_DATA, SKIP_REASON

from darkscan.readers import delphes, hepmc
from darkscan.readers.events import (
    EVENT_FIELDS,
    OBJECT_FIELDS,
    read_event_table,
    write_event_table,
)
from darkscan.errors import InputFileError

DATA = SHARED_DATA / "delphes"
pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason=SKIP_REASON)
ROOT_FILES = sorted(DATA.glob("*.root")) if DATA.is_dir() else []
HEPMC_FILES = sorted(DATA.glob("*.hepmc.gz")) if DATA.is_dir() else []


@pytest.mark.parametrize("path", ROOT_FILES, ids=lambda p: p.name)
def test_delphes_event_table_matches_the_leaves(path: Path, tmp_path: Path) -> None:
    import uproot

    table, metadata = delphes.event_table(path)
    raw = uproot.open(path)["Delphes"].arrays(
        ["Jet.PT", "Jet.BTag", "MissingET.MET", "MissingET.Phi", "Electron.Charge", "Muon.PT", "Event.Weight",
         "Event.CrossSection"])
    assert len(table) == len(raw) == metadata.n_accepted
    np.testing.assert_array_equal(ak.to_numpy(table.met), ak.to_numpy(raw["MissingET.MET"][:, 0]))
    np.testing.assert_array_equal(ak.to_numpy(table.met_phi), ak.to_numpy(raw["MissingET.Phi"][:, 0]))
    assert ak.to_list(table.jets.pt) == ak.to_list(raw["Jet.PT"])  # Delphes already orders by pT
    assert ak.to_list(table.jets.btag) == ak.to_list(raw["Jet.BTag"] & 1)
    assert ak.to_list(table.electrons.charge) == ak.to_list(raw["Electron.Charge"])
    assert metadata.cross_section_pb == pytest.approx(float(raw["Event.CrossSection"][-1, 0]))
    assert metadata.level == "detector" and metadata.source == "delphes"
    # round trip through the shared Parquet schema
    write_event_table(tmp_path / "t.parquet", table, metadata)
    back, _ = read_event_table(tmp_path / "t.parquet")
    assert set(ak.fields(back)) == set(OBJECT_FIELDS) | set(EVENT_FIELDS)
    assert ak.to_list(back.muons.pt) == ak.to_list(raw["Muon.PT"])


def test_delphes_samples_match_the_documented_numbers() -> None:
    """shared/data/README.md: Z(νν)j mean MET 190 GeV, 79 % above 150 GeV, 2.2 jets; ZZ 60 GeV, 1.05 jets."""
    znunu, meta = delphes.event_table(DATA / "znunu_jet_500ev_ATLAS_slim.root")
    met = ak.to_numpy(znunu.met)
    assert met.mean() == pytest.approx(190, abs=1) and np.mean(met > 150) == pytest.approx(0.79, abs=0.01)
    assert np.mean(ak.num(znunu.jets)) == pytest.approx(2.2, abs=0.05)
    assert meta.cross_section_pb == pytest.approx(32.60, abs=0.01)
    zz, meta = delphes.event_table(DATA / "zz_llnunu_500ev_ATLAS_slim.root")
    assert ak.to_numpy(zz.met).mean() == pytest.approx(60, abs=1)
    assert np.mean(ak.num(zz.jets)) == pytest.approx(1.05, abs=0.05)
    assert meta.cross_section_pb == pytest.approx(0.2473, abs=1e-4)


def test_delphes_truth_invisibles_equal_hepmc_neutrinos() -> None:
    """The same 5 events through two readers: Delphes' Particle branch and the HepMC3 input."""
    table, _ = delphes.event_table(DATA / "zz_llnunu_first5_ATLAS_full.root")
    truth, _ = hepmc.event_table(DATA / "zz_llnunu_first5.hepmc.gz")
    np.testing.assert_allclose(ak.to_numpy(table.invisible_pt), ak.to_numpy(truth.invisible_pt), rtol=1e-5)


def test_delphes_reads_avoid_unreadable_leaves() -> None:
    arrays = delphes.read(DATA / "zz_llnunu_first5_ATLAS_full.root", filter_name=["Jet.*", "Electron.*"])
    names = ak.fields(arrays)
    assert "Jet.PT" in names and "Electron.Charge" in names
    assert not any(n.endswith(("fBits", "fUniqueID")) for n in names)
    groups = delphes.collections(arrays)
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(groups["Jet"].pt)), ak.to_numpy(ak.flatten(arrays["Jet.PT"])))
    assert ak.flatten(groups["Jet"]).rho is not None  # vector behaviour (Momentum4D)


def test_delphes_iterate_in_steps() -> None:
    path = DATA / "zz_llnunu_500ev_ATLAS_slim.root"
    sizes = [len(a) for a in delphes.iterate(path, step_size=120, filter_name="MissingET.MET")]
    assert sizes == [120, 120, 120, 120, 20]


def test_root_file_without_delphes_tree(tmp_path: Path) -> None:
    import uproot

    path = tmp_path / "other.root"
    with uproot.recreate(path) as out:
        out["events"] = {"x": np.arange(3.0)}
    with pytest.raises(InputFileError, match=r"other\.root: ROOT file has no 'Delphes' tree \(it holds events\)"):
        delphes.event_table(path)


@pytest.mark.parametrize("content", [b"", b"not a root file at all\n" * 20])
def test_non_root_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.root"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=r"bad\.root: (empty file|not a readable ROOT file)"):
        delphes.open(path)


@pytest.mark.parametrize("path", HEPMC_FILES, ids=lambda p: p.name)
def test_hepmc_events_conserve_momentum(path: Path) -> None:
    arrays = hepmc.read(path)
    assert len(arrays) == 5
    final = arrays.particles[arrays.particles.status == 1]
    # status-1 particles carry the full 13 TeV of the two beams
    np.testing.assert_allclose(ak.to_numpy(ak.sum(final.vector.e, axis=1)), 13000.0, rtol=1e-6)
    np.testing.assert_allclose(ak.to_numpy(ak.sum(final.vector.px, axis=1)), 0.0, atol=1e-6)
    assert ak.fields(arrays.weights) == ["Weight"]
    assert np.all(ak.to_numpy(arrays.cross_section_pb) > 0)


def test_hepmc_table_against_a_direct_pyhepmc_loop() -> None:
    import pyhepmc

    path = DATA / "zz_llnunu_first5.hepmc.gz"
    table, metadata = hepmc.event_table(path)
    with pyhepmc.open(str(path)) as reader:
        for k, event in enumerate(reader):
            nu = [p.momentum for p in event.particles if p.status == 1 and abs(p.pid) in (12, 14, 16)]
            muons = sorted((p.momentum.pt() for p in event.particles
                            if p.status == 1 and abs(p.pid) == 13 and p.momentum.pt() > hepmc.LEPTON_PT_MIN),
                           reverse=True)
            assert table.met[k] == pytest.approx(np.hypot(sum(m.px for m in nu), sum(m.py for m in nu)), rel=1e-9)
            assert ak.to_list(table.muons.pt[k]) == pytest.approx(muons, rel=1e-9)
            last_sigma = event.cross_section.xsec()
    assert metadata.cross_section_pb == pytest.approx(last_sigma)
    assert metadata.level == "particle"
    assert ak.all(ak.sort(table.jets.pt, ascending=False) == table.jets.pt)
    assert ak.all(table.jets.pt > hepmc.JET_PT_MIN)


def test_hepmc_truncated_file_names_the_event(tmp_path: Path) -> None:
    text = gzip.decompress((DATA / "zz_llnunu_first5.hepmc.gz").read_bytes())
    second = text.index(b"\nE 1 ")
    path = tmp_path / "cut.hepmc"
    path.write_bytes(text[: second + len(text[second:]) // 3])
    with pytest.raises(InputFileError, match=r"cut\.hepmc: event 2"):
        hepmc.read(path)


def test_hepmc_not_hepmc(tmp_path: Path) -> None:
    path = tmp_path / "x.hepmc"
    path.write_text("hello\n")
    with pytest.raises(InputFileError, match=r"x\.hepmc: no 'HepMC::Asciiv3-START_EVENT_LISTING' header"):
        hepmc.read(path)


def test_hepmc_cut_between_events_is_still_truncated(tmp_path: Path) -> None:
    text = gzip.decompress((DATA / "znunu_jet_first5.hepmc.gz").read_bytes())
    path = tmp_path / "four.hepmc"
    path.write_bytes(text[: text.index(b"\nE 4 ") + 1])  # events 0–3 complete, no end-of-listing line
    with pytest.raises(InputFileError, match=r"four\.hepmc: no HepMC::Asciiv3-END_EVENT_LISTING after event 4"):
        hepmc.read(path)


def test_hepmc_truncated_gzip_is_one_error(tmp_path: Path) -> None:
    raw = (DATA / "znunu_jet_first5.hepmc.gz").read_bytes()
    path = tmp_path / "cut.hepmc.gz"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputFileError, match=r"cut\.hepmc\.gz: (event \d|gzip stream is truncated)"):
        hepmc.read(path)


def test_hepmc_gzipped_and_plain_read_the_same(tmp_path: Path) -> None:
    """One streaming path for both: gunzip on a thread feeding pyhepmc, E lines indexed on the way."""
    path = tmp_path / "plain.hepmc"
    path.write_bytes(gzip.decompress((DATA / "znunu_jet_first5.hepmc.gz").read_bytes()))
    assert ak.to_list(hepmc.read(path)) == ak.to_list(hepmc.read(DATA / "znunu_jet_first5.hepmc.gz"))


def test_delphes_default_read_includes_generator_collections() -> None:
    arrays = delphes.read(DATA / "znunu_jet_500ev_ATLAS_slim.root", entry_stop=10)
    names = set(ak.fields(arrays))
    assert {"GenJet.PT", "GenMissingET.MET", "Particle.PID", "ScalarHT.HT", "Event.Weight"} <= names
    # generator-level MET of Delphes (ν + PDG 52 per the card override) agrees with the truth sum
    table = delphes.table_from_arrays(arrays)
    np.testing.assert_allclose(ak.to_numpy(arrays["GenMissingET.MET"][:, 0]), ak.to_numpy(table.invisible_pt), rtol=0.05, atol=5.0)



def test_hepmc_interruption_while_reading_is_not_reported_as_a_corrupt_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from darkscan.readers import _stream

    opened = hepmc.open(DATA / "znunu_jet_first5.hepmc.gz")  # the header is read here, as usual

    def interrupted(self: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(_stream.ByteSource, "read", interrupted)
    with pytest.raises(KeyboardInterrupt):
        opened.read()
