"""Finding the ap_types headers: a user path, $XILINX_HLS, the hls4ml wheel — or an error naming all three."""

from __future__ import annotations

import numpy as np
import pytest

import fxflow
from fxflow import toolchain

from models import mlp


def test_user_path_and_xilinx_hls(tmp_path, monkeypatch):
    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "ap_fixed.h").write_text("// stand-in for the search only\n")
    assert toolchain.find_ap_types(tmp_path / "include") == (tmp_path / "include").resolve()
    monkeypatch.delenv("FXFLOW_AP_TYPES", raising=False)
    monkeypatch.setenv("XILINX_HLS", str(tmp_path))
    assert toolchain.find_ap_types() == (tmp_path / "include").resolve()


def test_missing_headers_error_names_every_option(tmp_path, monkeypatch):
    monkeypatch.delenv("XILINX_HLS", raising=False)
    monkeypatch.delenv("FXFLOW_AP_TYPES", raising=False)
    monkeypatch.setattr(toolchain, "_hls4ml_templates", lambda: None)
    with pytest.raises(fxflow.ToolchainError) as err:
        toolchain.find_ap_types()
    text = str(err.value)
    assert "ap_types=PATH" in text and "XILINX_HLS" in text and "hls4ml" in text
    with pytest.raises(fxflow.ToolchainError, match="no ap_fixed.h in the ap_types folder given"):
        toolchain.find_ap_types(tmp_path)
    design = fxflow.compile(mlp([3, 2]), np.zeros((1, 3)), ap_types=None)
    with pytest.raises(fxflow.ToolchainError, match="XILINX_HLS"):
        design.csim(np.zeros((2, 3)), verbose=False)


def test_build_without_vitis_says_so(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    design = fxflow.compile(mlp([3, 2]), np.zeros((1, 3)))
    with pytest.raises(fxflow.ToolchainError, match="vitis_hls is not installed"):
        design.build()
