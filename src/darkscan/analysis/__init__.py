"""Analysis: readers (LHE, HepMC3, Delphes ROOT), event tables, features, selections, histogram datasets.

- ``lhe``        Les Houches event files → awkward arrays (columnar, pylhe-identical) and parton-level tables
- ``hepmc``      HepMC3 ASCII (pyhepmc) → awkward arrays and particle-level tables
- ``delphes``    Delphes ROOT (uproot) → awkward arrays and detector-level tables
- ``sources``    any supported file → event table (picks the reader)
- ``events``     the event-table schema and its Parquet I/O; feature-table I/O
- ``features``   the feature vocabulary, columnar feature computation, feature tables on disk
- ``selection``  cuts as data, the ATLAS mono-jet / mono-Z presets, cut flows
- ``inspect``    plain-text description of any event file
- ``histograms`` binning from the study's axes, pools → binned shapes, exact bin-space sampling
- ``datasets``   histogram datasets (HDF5) per training task: SM vs SM + signal at fixed S/√B
- ``ceiling``    the optimal AUC of SM vs SM + signal for Poisson histograms
- ``luminosity`` S/√B at a luminosity, and the luminosity for a target S/√B
"""
