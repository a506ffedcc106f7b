# Delphes card rendered by darkscan 0.1.0 (template delphes_card v1)
# study golden_scans, sample snu_z_mdm, point m_dm-50
# The detector is the stock card below, unchanged; the lines after it only add what this sample needs.
source cards/delphes_card_ATLAS.tcl

# Fixed smearing seed: the stock card leaves RandomSeed at 0, a new seed every run.
set RandomSeed 127568364

# Invisible BSM particles of this sample (PDG 1000012, 1000014, 1000016, 1000022). The stock card treats a
# stable particle it does not know as visible hadronic energy (jets instead of MET), so they get
# zero energy fraction in both calorimeters and join the neutrinos in NeutrinoFilter (GenJets,
# GenMissingET). Redefining a module appends to it ("already configured" is printed, harmless).
module SimpleCalorimeter ECal {
  add EnergyFraction {1000012} {0.0}
  add EnergyFraction {1000014} {0.0}
  add EnergyFraction {1000016} {0.0}
  add EnergyFraction {1000022} {0.0}
}
module SimpleCalorimeter HCal {
  add EnergyFraction {1000012} {0.0}
  add EnergyFraction {1000014} {0.0}
  add EnergyFraction {1000016} {0.0}
  add EnergyFraction {1000022} {0.0}
}
module PdgCodeFilter NeutrinoFilter {
  add PdgCode {1000012}
  add PdgCode {-1000012}
  add PdgCode {1000014}
  add PdgCode {-1000014}
  add PdgCode {1000016}
  add PdgCode {-1000016}
  add PdgCode {1000022}
  add PdgCode {-1000022}
}
