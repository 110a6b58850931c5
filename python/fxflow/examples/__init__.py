"""Bundled example models, each a module with `NAME`, `DESCRIPTION`, `INPUT_SHAPE` (per sample),
`make_model()`, `make_inputs(n, seed)` and `DEFAULT_CONFIG`; `fxflow example NAME` runs one end to end.

No data sets can be downloaded here, so weights are fixed seeded initialisations and inputs synthetic data of
the real shapes; the architectures and precisions are the ones users bring (hls4ml's jet tagger, small image
and time-series CNNs, a convolutional autoencoder, a QONNX export)."""

from __future__ import annotations

import importlib

# name -> module (imported on use: the modules import torch / onnx)
EXAMPLES = {
    "jet_tagger": "fxflow.examples.jet_tagger",
    "hgq_jet_tagger": "fxflow.examples.hgq_jet_tagger",
    "cnn2d": "fxflow.examples.cnn2d",
    "cnn1d": "fxflow.examples.cnn1d",
    "autoencoder": "fxflow.examples.autoencoder",
    "qonnx_mlp": "fxflow.examples.qonnx_mlp",
    "lstm_tagger": "fxflow.examples.lstm_tagger",
    "transformer": "fxflow.examples.transformer",
}


def load(name: str):
    from fxflow.errors import ConfigError

    if name not in EXAMPLES:
        raise ConfigError(f"unknown example '{name}' (available: {', '.join(EXAMPLES)})")
    return importlib.import_module(EXAMPLES[name])
