"""Histogram datasets: feature tables → SM vs SM + signal histograms at fixed S/√B.

- ``histograms`` binning from the study's axes, pools → binned shapes, exact bin-space sampling
- ``build``      histogram datasets (HDF5) per training task: SM vs SM + signal at fixed S/√B
- ``ceiling``    the optimal AUC of SM vs SM + signal for Poisson histograms
- ``events``     event-level datasets (``event_dnn``): selected events, seeded split, physical weights
"""
