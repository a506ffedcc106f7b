"""Analysis: event tables → kinematic features, selections and the luminosity view.

- ``features``   the feature vocabulary, columnar feature computation, feature tables on disk
- ``selection``  cuts as data, the ATLAS mono-jet / mono-Z presets, cut flows
- ``luminosity`` S/√B at a luminosity, and the luminosity for a target S/√B
"""
