"""Keras 3 network builders for the histogram datasets (Keras/TensorFlow imported inside the builders).

- ``dnn`` (Arganda–Medina–Perez–Szynkman): flatten → ``layers`` × [Dense(``units``, ReLU) → Dropout(``dropout``)]
  → sigmoid (two classes) / softmax (more); defaults 3 × 20, dropout 0.2.
- ``event_dnn``: the same dense stack on the feature vector of single events (the event-level baseline).
- ``cnn`` on 2D images (same authors): Conv2D(32, 3×3) → MaxPool(2×2) → Conv2D(64, 3×3) → MaxPool(2×2)
  → Flatten → Dense(``units``) → Dropout → output. On stacked 1D channels ``cnn`` means ``cnn1d``.
- ``cnn1d`` (Uppsala classifier): Conv1D(32, 3) → MaxPool(2) → Conv1D(32, 3) → BatchNorm → MaxPool(2)
  → Flatten → Dense(32) → Dense(8) → output; the channels of a 1D stack are the Conv1D channels.
- the mass regressor (Uppsala, every ``regression`` task): the task network's convolution (or dense)
  body → Flatten, the one-hot of the DM candidate concatenated → Dense(32) → Dense(8) → linear output,
  rescaled to the target's training mean and spread so that the output is in the target's unit (GeV).

Convolutions use ``same`` padding so that the small images of fast studies (e.g. 12 × 10) keep a
spatial extent after both poolings. Every builder returns an uncompiled ``keras.Model``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from darkscan.study import TrainingTask

__all__ = ["NETWORKS", "NetworkSpec", "build_network", "network_spec"]

NETWORKS = ("dnn", "cnn", "cnn1d", "event_dnn")


def __dir__() -> list[str]:
    return list(__all__)


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """Everything that fixes a network's architecture (stored in each model's sidecar).

    ``network`` is the architecture actually built (``cnn`` on 1D channels becomes ``cnn1d``).
    """

    network: str
    kind: str
    input_shape: tuple[int, ...]
    n_outputs: int
    regression: bool
    layers: int
    units: int
    dropout: float
    filters: tuple[int, int]
    n_candidates: int = 0
    target_mean: float = 0.0
    target_scale: float = 1.0


def network_spec(task: TrainingTask, *, kind: str, input_shape: Sequence[int], n_outputs: int,
                 n_candidates: int = 0, target_mean: float = 0.0, target_scale: float = 1.0) -> NetworkSpec:
    """The architecture a task asks for on data of ``kind`` (``1d``/``2d``) and ``input_shape``."""
    network = task.network
    if network == "cnn" and kind == "1d":
        network = "cnn1d"
    if network == "cnn1d" and kind == "2d":
        network = "cnn"
    default_filters = (32, 64) if network == "cnn" else (32, 32)
    return NetworkSpec(network=network, kind=kind, input_shape=tuple(int(s) for s in input_shape),
                       n_outputs=n_outputs, regression=task.labels == "regression", layers=task.layers,
                       units=task.units, dropout=task.dropout, filters=tuple(task.filters or default_filters),  # type: ignore[arg-type]
                       n_candidates=n_candidates, target_mean=target_mean, target_scale=target_scale)


def _body(spec: NetworkSpec, x: Any) -> Any:
    from keras import layers

    if spec.network in ("dnn", "event_dnn"):  # event_dnn: the same dense stack on one event's features
        x = layers.Flatten()(x)
        for _ in range(spec.layers):
            x = layers.Dense(spec.units, activation="relu")(x)
            if spec.dropout > 0:
                x = layers.Dropout(spec.dropout)(x)
        return x
    if spec.network == "cnn":
        x = layers.Reshape((*spec.input_shape, 1))(x)
        x = layers.Conv2D(spec.filters[0], (3, 3), padding="same", activation="relu")(x)
        x = layers.MaxPooling2D((2, 2), padding="same")(x)
        x = layers.Conv2D(spec.filters[1], (3, 3), padding="same", activation="relu")(x)
        x = layers.MaxPooling2D((2, 2), padding="same")(x)
        x = layers.Flatten()(x)
        if spec.regression:
            return x
        x = layers.Dense(spec.units, activation="relu")(x)
        return layers.Dropout(spec.dropout)(x) if spec.dropout > 0 else x
    if spec.network == "cnn1d":
        # (channels, bins) → (bins, channels): the bins are the Conv1D axis
        x = layers.Permute((2, 1))(x) if len(spec.input_shape) == 2 else layers.Reshape((spec.input_shape[0], 1))(x)
        x = layers.Conv1D(spec.filters[0], 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2, padding="same")(x)
        x = layers.Conv1D(spec.filters[1], 3, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling1D(2, padding="same")(x)
        x = layers.Flatten()(x)
        if spec.regression:
            return x
        x = layers.Dense(32, activation="relu")(x)
        return layers.Dense(8, activation="relu")(x)
    raise ValueError(f"unknown network {spec.network!r}; allowed: {', '.join(NETWORKS)}")  # pragma: no cover


def build_network(spec: NetworkSpec, *, name: str = "network") -> Any:
    """An uncompiled ``keras.Model`` for ``spec``; inputs ``x`` (and ``candidate`` for regression)."""
    import keras
    from keras import layers

    x_in = keras.Input(spec.input_shape, name="x")
    h = _body(spec, x_in)
    inputs: list[Any] = [x_in]
    if spec.regression:
        if spec.n_candidates > 0:
            candidate = keras.Input((spec.n_candidates,), name="candidate")
            inputs.append(candidate)
            h = layers.Concatenate()([h, candidate])
        h = layers.Dense(32, activation="relu")(h)
        h = layers.Dense(8, activation="relu")(h)
        h = layers.Dense(1, dtype="float32")(h)
        # the network learns a standardised target; the output is in the target's unit
        out = layers.Rescaling(scale=spec.target_scale, offset=spec.target_mean, dtype="float32")(h)
    elif spec.n_outputs == 1:
        out = layers.Dense(1, activation="sigmoid", dtype="float32")(h)
    else:
        out = layers.Dense(spec.n_outputs, activation="softmax", dtype="float32")(h)
    return keras.Model(inputs if len(inputs) > 1 else x_in, out, name=name)
