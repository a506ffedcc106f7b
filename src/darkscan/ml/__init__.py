"""Machine learning on histogram datasets: Keras classifiers and DM-mass regressors (TensorFlow imported lazily).

- :mod:`darkscan.ml.data`      training units read from the HDF5 datasets: seeded split, scaling fitted on train
- :mod:`darkscan.ml.networks`  Keras builders: ``dnn``, ``cnn``, ``cnn1d``, the mass regressor
- :mod:`darkscan.ml.train`     the training loop: side-by-side grids, early stopping, resume, saved models
- :mod:`darkscan.ml.metrics`   Asimov significance (± σ_b), significance scans, KS train/test, counting rule, ROC/AUC
- :mod:`darkscan.ml.baselines` the exact likelihood ratio / Bayes rule from the dataset shapes, counting, trees, cut-and-count
- :mod:`darkscan.ml.evaluate`  every network beside the ceiling and the baselines: evaluation/<task>.json, .csv
- :mod:`darkscan.ml.plots`     evaluation plots (ROC, AUC vs S/√B, confusion, training curves, significance, regression)
- :mod:`darkscan.ml.events`    ``event_dnn`` units from the event-level datasets, and their evaluation beside cut-and-count and trees
- :mod:`darkscan.ml.onnx`      ONNX export (tf2onnx, input scaling in the graph) with a Keras parity check
"""
