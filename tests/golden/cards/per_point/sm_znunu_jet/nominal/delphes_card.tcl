# Delphes card rendered by darkscan 0.1.0 (template delphes_card v1)
# study golden, sample sm_znunu_jet, point nominal
# The detector is the stock card below, unchanged; the lines after it only add what this sample needs.
source cards/delphes_card_ATLAS.tcl

# Fixed smearing seed: the stock card leaves RandomSeed at 0, a new seed every run.
set RandomSeed 85964146
