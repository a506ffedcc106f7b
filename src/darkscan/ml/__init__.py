"""Machine learning on histogram datasets: Keras classifiers and DM-mass regressors (TensorFlow imported lazily).

- :mod:`darkscan.ml.data`      training units read from the HDF5 datasets: seeded split, scaling fitted on train
- :mod:`darkscan.ml.networks`  Keras builders: ``dnn``, ``cnn``, ``cnn1d``, the mass regressor
- :mod:`darkscan.ml.train`     the training loop: side-by-side grids, early stopping, resume, saved models
"""
