"""Kinematic features computed from event tables.

:data:`FEATURES` is the one vocabulary of feature names: the study file's selections and histogram
axes are validated against it, and the feature table has exactly these columns.
"""

from __future__ import annotations

__all__ = ["FEATURES"]

#: name → (unit, description). Unit "" means dimensionless.
FEATURES: dict[str, tuple[str, str]] = {
    "met": ("GeV", "missing transverse momentum"),
    "met_phi": ("", "azimuth of the missing transverse momentum"),
    "invisible_pt": ("GeV", "generator-level |Σ pT| of invisible particles"),
    "n_jets": ("", "number of jets"),
    "n_bjets": ("", "number of b-tagged jets"),
    "ht": ("GeV", "scalar sum of jet pT"),
    "leading_jet_pt": ("GeV", "leading-jet pT"),
    "leading_jet_eta": ("", "leading-jet pseudorapidity"),
    "leading_jet_phi": ("", "leading-jet azimuth"),
    "subleading_jet_pt": ("GeV", "second-jet pT"),
    "subleading_jet_eta": ("", "second-jet pseudorapidity"),
    "subleading_jet_phi": ("", "second-jet azimuth"),
    "dphi_min_jets_met": ("", "smallest |Δφ| between MET and any of the four leading jets"),
    "met_over_sqrt_ht": ("GeV^1/2", "MET/√H_T, a MET-significance proxy"),
    "n_electrons": ("", "number of electrons"),
    "n_muons": ("", "number of muons"),
    "n_leptons": ("", "number of electrons + muons"),
    "n_photons": ("", "number of photons"),
    "leading_photon_pt": ("GeV", "leading-photon pT"),
    "leading_lepton_pt": ("GeV", "leading-lepton (e or μ) pT"),
    "leading_lepton_eta": ("", "leading-lepton pseudorapidity"),
    "leading_lepton_charge": ("", "leading-lepton charge (±1)"),
    "leading_lepton_flavour": ("", "leading-lepton |PDG id| (11 or 13)"),
    "subleading_lepton_pt": ("GeV", "second-lepton pT"),
    "subleading_lepton_eta": ("", "second-lepton pseudorapidity"),
    "mll": ("GeV", "invariant mass of the two leading leptons"),
    "ptll": ("GeV", "pT of the two-lepton system"),
    "drll": ("", "ΔR between the two leading leptons"),
    "dphi_ll_met": ("", "|Δφ| between the two-lepton system and MET"),
    "mt_ll_met": ("GeV", "transverse mass of the two-lepton system and MET"),
    "mt_zz": ("GeV", "ATLAS mono-Z transverse mass of Z(ℓℓ) + MET, with m_Z for both Z"),
    "mt2_ll": ("GeV", "stransverse mass m_T2 of the two leptons and MET (massless invisibles)"),
    "weight": ("", "event weight"),
}
