"""The backend registry (fxflow/lowering/backend.py): exactly the five backends, each a `Backend`, lazily
imported, options defaults in one place, and a clear error for a method a backend does not have."""

import subprocess
import sys

import numpy as np
import pytest

import fxflow
from fxflow.errors import ConfigError, FxflowError
from fxflow.lowering import backend as backends

PROTOCOL_METHODS = ("lower", "write", "report", "simulate", "synth", "cli_arguments", "cli_options", "cli_summary")


def test_registry_lists_exactly_the_backends():
    assert backends.names() == ("vitis", "catapult", "aie", "rtl", "versal")
    from fxflow.compiler import BACKENDS

    assert BACKENDS == backends.names()
    with pytest.raises(ConfigError, match="unknown backend 'quartus' .*vitis, catapult, aie, rtl, versal"):
        backends.get("quartus")


@pytest.mark.parametrize("name", backends.names())
def test_each_backend_satisfies_the_protocol(name):
    import dataclasses

    impl = backends.get(name)
    assert isinstance(impl, backends.Backend)
    assert impl.name == name and impl.title
    assert "io_parallel" in impl.io_types
    assert dataclasses.is_dataclass(impl.options)
    assert isinstance(impl.parse_options(None), impl.options)
    for method in PROTOCOL_METHODS:
        assert callable(getattr(impl, method)), method


def test_registry_imports_no_backend():
    code = ("import sys, fxflow.lowering.backend as b; b.names(); "
            "print(sorted(m for m in sys.modules if m.endswith('.backend') and m != 'fxflow.lowering.backend'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unsupported_method_names_the_backend():
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(3, 2)).eval()
    d = fxflow.compile(model, np.zeros((1, 3)), backend="catapult")
    with pytest.raises(FxflowError, match=r"build is not supported by the 'catapult' backend.*catapult -shell"):
        d.build()
    with pytest.raises(FxflowError, match=r"synth is not supported by the 'catapult' backend"):
        d.synth()
    with pytest.raises(FxflowError, match=r"rtl is not supported by the 'catapult' backend"):
        d.rtl
    aie = fxflow.compile(model, np.zeros((1, 3)), backend="aie")
    with pytest.raises(FxflowError, match=r"csim is not supported by the 'aie' backend of this design: use simulate"):
        aie.csim(np.zeros((1, 3)))
    with pytest.raises(ConfigError, match=r"simulate of the 'aie' backend takes no option\(s\) pl"):
        aie.simulate(np.zeros((1, 3)), pl="csim")
    assert aie.backend_state is not None and aie.rtl_synth is None and aie.rtl_options is None


def test_options_of_another_backend_are_an_error():
    with pytest.raises(ConfigError, match="aie options are given but the backend is not 'aie'"):
        fxflow.compile(torch_linear(), np.zeros((1, 3)), backend="vitis", aie={"batch": 4})


def test_cli_defaults_come_from_the_options_dataclasses():
    import argparse

    from fxflow.lowering.aie.options import AieOptions
    from fxflow.lowering.rtl.options import RtlOptions
    from fxflow.lowering.versal.options import VersalOptions

    parser = argparse.ArgumentParser()
    for name in backends.names():
        backends.get(name).cli_arguments(parser)
    args = parser.parse_args([])
    assert (args.aie_device, args.aie_batch) == (AieOptions.device, AieOptions.batch)
    assert (args.rtl_products, args.rtl_pipeline) == (RtlOptions.products, RtlOptions.pipeline)
    assert (args.versal_device, args.versal_rate) == (VersalOptions.device, VersalOptions.target_rate_mhz)
    assert backends.get("versal").cli_options(args) == {"device": VersalOptions.device, "batch": VersalOptions.batch,
                                                        "target_rate_mhz": VersalOptions.target_rate_mhz,
                                                        "partition": "auto",
                                                        "max_segments": VersalOptions.max_segments}


def torch_linear():
    import torch

    return torch.nn.Sequential(torch.nn.Linear(3, 2)).eval()


def test_versal_pass_options_spell_every_versal_option():
    from fxflow.lowering.versal.passes.partition import VersalPartitionOptions
    from fxflow.lowering.versal.options import VersalOptions

    opts = VersalOptions.from_dict({"partition": {"fc1": "aie"}, "weights": {"lut": 0.5}, "objective": "resource",
                                    "time": "interval", "max_plio": 2})
    assert VersalPartitionOptions.of(opts).versal_options() == opts
    assert VersalPartitionOptions().versal_options() == VersalOptions.from_dict(None)
    with pytest.raises(ConfigError, match="weights entry 'lut' must be resource=number"):
        VersalPartitionOptions(weights="lut").versal_options()


def test_fxflow_opt_options_reproduce_the_versal_compile():
    """The textual pass options of a compile's VersalOptions plan the df stage exactly as compile did."""
    import dataclasses

    import torch

    from fxflow.dialects import new_context
    from fxflow.ir import ir
    from fxflow.passes import PASSES, load_all
    from fxflow.lowering.versal.passes.partition import VersalPartitionOptions
    from fxflow.pipeline import run_passes

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)).eval()
    d = fxflow.compile(model, torch.zeros(1, 8), config={"model": {"precision": "ap_fixed<8,3>"}}, backend="versal",
                       versal={"weights": {"lut": 0.25}, "objective": "resource", "target_rate_mhz": 10})
    load_all()
    pass_opts = VersalPartitionOptions.of(d.versal.options)
    text = {f.name.replace("_", "-"): str(getattr(pass_opts, f.name))
            for f in PASSES["versal-partition"].textual_options()}
    assert {f.name for f in dataclasses.fields(d.versal.options)} == {k.replace("-", "_") for k in text}
    with new_context() as ctx:
        m = ir.Module.parse(d.mlir("df"), context=ctx)
        run_passes(m, [("versal-partition", PASSES["versal-partition"].make_options(text))])
        got = m.operation.get_asm(print_generic_op_form=True, enable_debug_info=True, large_elements_limit=None)
    assert got == d.mlir("versal")
