"""Machine learning on histogram datasets: Keras classifiers and DM-mass regressors (TensorFlow imported lazily)."""
