"""Readers: every supported event file → one event-table schema.

- ``lhe``        Les Houches event files → awkward arrays (columnar, pylhe-identical) and parton-level tables
- ``hepmc``      HepMC3 ASCII (pyhepmc) → awkward arrays and particle-level tables
- ``delphes``    Delphes ROOT (uproot) → awkward arrays and detector-level tables
- ``sources``    any supported file → event table (picks the reader)
- ``events``     the event-table schema and its Parquet I/O; feature-table I/O
- ``inspect``    plain-text description of any event file
"""
