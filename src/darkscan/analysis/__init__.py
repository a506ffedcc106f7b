"""Analysis: readers (LHE, HepMC3, Delphes ROOT), event tables, features, selections, histogram datasets."""
