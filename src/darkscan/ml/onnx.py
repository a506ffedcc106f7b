"""ONNX export of a trained network for recasting tools, with a parity check against Keras.

The exported graph takes *raw* histograms (event counts, or fractions with ``counts: normalise``,
shape ``(n, *histogram shape)``, input ``histogram``) and, for the mass regressor, the DM-candidate
one-hot (input ``candidate``): the input scaling fitted on the training part (``log1p`` and/or
per-cell standardisation, :class:`darkscan.ml.data.Scaler`) is part of the graph, so a user needs
nothing but the ONNX file. The output is the network's (sigmoid probability, class probabilities,
or the target in GeV).

Route: ``tf2onnx.convert.from_function`` on a ``tf.function`` wrapping the scaler and the Keras 3
model. ``tf2onnx.convert.from_keras`` also converts plain Keras 3 functional models under
TensorFlow 2.21 (checked), but only the ``tf.function`` route can carry the scaler. Opset 17.

Parity: the ONNX Runtime output on the unit's test histograms must agree with Keras within
``tolerance`` (default 1e-5; absolute for outputs below 1, i.e. probabilities, relative above, i.e.
a regressed mass in GeV); otherwise nothing is written and :class:`OnnxParityError` names the
largest difference.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from darkscan.errors import DarkscanError
from darkscan.io import atomic_path

if TYPE_CHECKING:
    from darkscan.ml.data import Scaler, UnitData

__all__ = ["OPSET", "OnnxParityError", "export_beside", "export_onnx", "onnx_predict"]

OPSET = 17


def __dir__() -> list[str]:
    return list(__all__)


class OnnxParityError(DarkscanError, RuntimeError):
    """The exported ONNX model does not reproduce the Keras outputs within tolerance."""

    exit_code = 1


def _function(network: Any, scaler: Scaler, input_shapes: list[tuple[int, ...]]) -> tuple[Any, list[Any]]:
    import tensorflow as tf

    mean = np.asarray(scaler.mean, dtype=np.float32)
    scale = np.asarray(scaler.scale, dtype=np.float32)
    log = scaler.kind == "log"

    def scaled(histogram: Any) -> Any:
        # constants made inside the traced function become Const nodes; tensors captured from
        # outside would become extra graph inputs in tf2onnx's conversion
        values = tf.math.log1p(histogram) if log else histogram
        return (values - tf.constant(mean)) / tf.constant(scale)

    signature = [tf.TensorSpec((None, *input_shapes[0]), tf.float32, name="histogram")]
    if len(input_shapes) == 1:
        @tf.function(input_signature=signature)
        def single(histogram: Any) -> Any:
            return network(scaled(histogram), training=False)

        return single, signature
    signature.append(tf.TensorSpec((None, *input_shapes[1]), tf.float32, name="candidate"))

    @tf.function(input_signature=signature)
    def pair(histogram: Any, candidate: Any) -> Any:
        return network([scaled(histogram), candidate], training=False)

    return pair, signature


def onnx_predict(path: Path | bytes, histograms: np.ndarray, candidate: np.ndarray | None = None) -> np.ndarray:
    """Run an exported model with ONNX Runtime on raw histograms (and the candidate one-hot)."""
    import onnxruntime

    source = path if isinstance(path, bytes) else str(path)
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    feeds = {"histogram": np.asarray(histograms, dtype=np.float32)}
    if candidate is not None:
        feeds["candidate"] = np.asarray(candidate, dtype=np.float32)
    return np.asarray(session.run(None, feeds)[0])


def export_onnx(network: Any, data: UnitData, target: Path, *, tolerance: float = 1e-5) -> float:
    """Export ``network`` (trained on ``data``) to ``target`` after checking parity; return the largest difference.

    Raises:
        OnnxParityError: ONNX Runtime and Keras differ by more than ``tolerance`` on the test histograms.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tf2onnx

    shapes = [tuple(int(d) for d in t.shape[1:]) for t in network.inputs]
    function, signature = _function(network, data.scaler, shapes)
    model_proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=OPSET)
    payload = model_proto.SerializeToString()
    keras_out = np.asarray(network.predict(data.inputs("test"), batch_size=4096, verbose=0), dtype=np.float64)
    onnx_out = onnx_predict(payload, data.raw_test, data.candidate_test).astype(np.float64)
    # absolute for probabilities; relative for a regressor's output in GeV (float32 resolves ~1e-7 of it)
    deviation = np.abs(onnx_out.reshape(keras_out.shape) - keras_out) / np.maximum(1.0, np.abs(keras_out))
    difference = float(np.max(deviation)) if keras_out.size else 0.0
    if not difference <= tolerance:
        raise OnnxParityError(f"{target}: ONNX Runtime differs from Keras by up to {difference:.3g} on the "
                              f"{len(data.raw_test)} test histograms of {data.task}/{data.unit} (tolerance "
                              f"{tolerance:g}); not written")
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    return difference


def export_beside(network: Any, data: UnitData, model_file: Path) -> dict[str, Any]:
    """Export next to the saved ``.keras`` file; the evaluation row's ``onnx`` entry."""
    target = Path(model_file).with_suffix(".onnx")
    return {"file": target.name, "max_deviation": export_onnx(network, data, target)}
