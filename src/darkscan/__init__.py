"""darkscan: from a dark-matter model to a trained classifier.

Map of the package (one line per module):

- ``darkscan.study``      the study file (YAML) → validated :class:`~darkscan.study.Study` and its plan
- ``darkscan.registry``   physics processes: MG5 model/process lines, parameters, invisibles, Pythia equivalents
- ``darkscan.errors``     :class:`~darkscan.errors.DarkscanError` and its subclasses
- ``darkscan.io``         atomic writes and content hashes shared by every stage
- ``darkscan.cards``      Jinja templates for MadGraph5, Pythia 8, Delphes and SLHA cards
- ``darkscan.gen``        embedded Pythia 8 recipes, the fast detector, sharded runs, LHE showering
- ``darkscan.readers``    LHE, HepMC3 and Delphes ROOT readers → one event-table schema
- ``darkscan.analysis``   kinematic features, selections and cut flows, the luminosity view
- ``darkscan.datasets``   histogram datasets at fixed S/√B and their optimal-AUC ceiling; event-level datasets
- ``darkscan.hpc``        a study's stages as Slurm job arrays: scripts, submission, status, retry
- ``darkscan.ml``         training units from the datasets, Keras networks, the training loop (``darkscan train``), evaluation (``darkscan evaluate``)
- ``darkscan.pipeline``   the stages declared once, content fingerprints, run manifest, status
- ``darkscan.report``     the study report (HTML + Markdown) and the AUC ↔ luminosity ↔ significance interpretation
- ``darkscan.cli``        the ``darkscan`` command (typer)
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
