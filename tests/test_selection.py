"""Selections as data: cut semantics, presets, cut flows and yields."""

from __future__ import annotations

import math

import numpy as np
import pytest
from shared import SHARED_DATA, SKIP_REASON

from darkscan.analysis.features import FEATURES
from darkscan.analysis.selection import (
    PRESETS,
    Cut,
    apply,
    cutflow,
    format_cutflow,
    study_cuts,
)
from darkscan.errors import StudyError

DATA = SHARED_DATA / "delphes"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason=SKIP_REASON)


def test_cut_is_min_inclusive_max_exclusive_and_nan_fails() -> None:
    values = {"met": np.array([99.0, 100.0, 150.0, 200.0, math.nan]), "weight": np.ones(5)}
    assert Cut("met", min=100.0, max=200.0).mask(values).tolist() == [False, True, True, False, False]
    assert Cut("met", max=100.0).mask(values).tolist() == [True, False, False, False, False]
    eta = {"leading_jet_eta": np.array([-2.5, -2.3, 0.0, 2.39, 2.4, math.nan])}
    assert Cut("leading_jet_eta", max=2.4, abs=True).mask(eta).tolist() == [False, True, True, True, False, False]


def test_cuts_are_validated_against_the_feature_vocabulary() -> None:
    with pytest.raises(StudyError, match="unknown feature 'leading_jet_ptt'.*did you mean 'leading_jet_pt'"):
        Cut("leading_jet_ptt", min=1.0)
    with pytest.raises(StudyError, match="needs min, max or both"):
        Cut("met")
    with pytest.raises(StudyError, match="unknown preset 'atlas_monojets'"):
        study_cuts("atlas_monojets")


def test_presets_use_known_features_and_match_the_papers() -> None:
    for cuts in PRESETS.values():
        assert all(cut.feature in FEATURES for cut in cuts)
    monojet = {cut.feature: cut for cut in PRESETS["atlas_monojet"]}
    assert monojet["met"].min == 200 and monojet["leading_jet_pt"].min == 150
    assert monojet["leading_jet_eta"].max == 2.4 and monojet["leading_jet_eta"].abs
    assert monojet["dphi_min_jets_met"].min == 0.4
    monoz = {cut.feature: cut for cut in PRESETS["atlas_monoz"]}
    assert (monoz["mll"].min, monoz["mll"].max) == (76, 106)
    assert monoz["met"].min == 90 and monoz["drll"].max == 1.8 and monoz["met_significance"].min == 9


def test_study_cuts_append_user_cuts_after_the_preset() -> None:
    from darkscan.study import Cut as StudyCut

    cuts = study_cuts("atlas_monojet", [StudyCut(feature="met", min=400.0)])
    assert cuts[: len(PRESETS["atlas_monojet"])] == list(PRESETS["atlas_monojet"])
    assert cuts[-1] == Cut("met", 400.0, None, False)
    assert cuts[-1].description == "400 ≤ met"


def test_cutflow_yield_formula() -> None:
    features = {"met": np.array([50.0, 250.0, 300.0, 500.0]), "weight": np.array([1.0, 2.0, -1.0, 4.0])}
    rows = cutflow(features, [Cut("met", min=200.0), Cut("met", max=400.0)], cross_section_pb=2.0,
                   luminosity_fb=10.0, sum_weights=12.0)
    assert [r.events for r in rows] == [4, 3, 2]
    assert [r.sum_weights for r in rows] == [6.0, 5.0, 1.0]
    # σ[pb]·1000·L[fb⁻¹]·Σw_sel/Σw_all, with Σw_all over all generated events (12, not 6)
    assert [r.yield_events for r in rows] == pytest.approx([2.0 * 1000 * 10 * w / 12.0 for w in (6.0, 5.0, 1.0)])
    assert "MET" not in format_cutflow(rows) and "400" in format_cutflow(rows)


@needs_data
def test_monojet_cutflow_on_delphes_znunu_matches_plain_numpy() -> None:
    import awkward as ak

    from darkscan.readers import delphes
    from darkscan.analysis.features import compute_features

    table, metadata = delphes.event_table(DATA / "znunu_jet_500ev_ATLAS_slim.root")
    features = compute_features(table)
    rows = cutflow(features, PRESETS["atlas_monojet"], cross_section_pb=metadata.cross_section_pb,
                   luminosity_fb=139.0, sum_weights=metadata.sum_weights)
    events = [r.events for r in rows]
    assert events == sorted(events, reverse=True) and events[0] == 500
    # the same selection written out by hand on the event table
    met = ak.to_numpy(table.met)
    jets = table.jets
    good = jets[(jets.pt > 30) & (abs(jets.eta) < 2.8)]
    lead_ok = ak.fill_none(ak.firsts(jets.pt), 0) > 150
    lead_ok = lead_ok & (abs(ak.fill_none(ak.firsts(jets.eta), 99)) < 2.4)
    dphi = abs((good.phi[:, :4] - table.met_phi + np.pi) % (2 * np.pi) - np.pi)
    by_hand = ((met >= 200) & ak.to_numpy(lead_ok) & (ak.to_numpy(ak.num(good)) <= 4)
               & ak.to_numpy(ak.fill_none(ak.min(dphi, axis=1), -1) > 0.4)
               & (ak.to_numpy(ak.num(table.electrons) + ak.num(table.muons)) == 0)
               & (ak.to_numpy(ak.num(table.photons)) == 0))
    assert rows[-1].events == int(by_hand.sum()) == int(apply(features, PRESETS["atlas_monojet"]).sum())
    assert rows[-1].yield_events == pytest.approx(metadata.cross_section_pb * 1000 * 139 * by_hand.sum() / 500)
