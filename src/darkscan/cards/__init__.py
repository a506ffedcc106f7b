"""Card rendering: MadGraph5_aMC@NLO scripts, param/SLHA cards, Pythia 8 and Delphes cards.

- :mod:`darkscan.cards.mg5`: MG5 command scripts (per point or with MG5's scan syntax), read-back check.
- :mod:`darkscan.cards.slha`: SLHA2 spectra of MSSM_SLHA2 for MG5 (param card) and Pythia 8 (``SLHA:file``).
- :mod:`darkscan.cards.pythia8`: ``pythia8_card.dat`` showering an LHE file.
- :mod:`darkscan.cards.delphes`: Delphes card = stock card + seed + invisible BSM particles.
- :mod:`darkscan.cards.render`: every card of a study, one folder per sample point with ``sample.json``.

Templates live in ``templates/`` (package data) and render with ``jinja2.StrictUndefined``.
"""

__all__: list[str] = []
