"""Card rendering: MadGraph5_aMC@NLO scripts, param/SLHA cards, Pythia 8 and Delphes cards."""
