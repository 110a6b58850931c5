"""df-size-fifos: depths are the smallest that keep the unbounded schedule, deadlocks and budgets are errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fxflow.dialects import new_context
from fxflow.devices import device_for
from fxflow.errors import ConfigError
from fxflow.ir import ir
from fxflow.lowering.hls.passes.df_size_fifos import (INF, CycleBudgetExceeded, FifoDeadlock, SizeFifosOptions,
                                                      build_model, simulate, size_fifos)

DIAMOND = (Path(__file__).parents[1] / "lowering" / "hls" / "df-size-fifos.mlir").read_text()


def _graph(text):
    ctx = new_context()
    with ctx:
        m = ir.Module.parse(text)
    graph = next(o.operation for o in m.body.operations if o.operation.name == "df.graph")
    return ctx, m, graph


def test_sized_depths_are_minimal_and_keep_the_unbounded_schedule():
    ctx, m, graph = _graph(DIAMOND)
    with ctx:
        res = size_fifos(graph, SizeFifosOptions(samples=6))
        depths = {r["channel"]: r["depth"] for r in res["channels"]}
        assert depths["a->c"] >= 4 and res["fifo_bits"] < res["fifo_bits_naive"]
        procs, chans = build_model(graph, device_for("xcvu13p"), 5.0)
        unbounded = simulate(procs, chans, 6, 10**5)
        streams = [i for i, c in enumerate(chans) if c.op is not None]
        for i in streams:
            chans[i].depth = depths[chans[i].name]
        assert simulate(procs, chans, 6, 10**5).finish == res["finish"] == unbounded.finish
        for i in streams:  # one less anywhere stalls or deadlocks
            if chans[i].depth == 1:
                continue
            chans[i].depth -= 1
            try:
                assert simulate(procs, chans, 6, 10**5).finish != unbounded.finish, chans[i].name
            except FifoDeadlock:
                pass
            chans[i].depth += 1
        # the IR holds the depths
        got = [ir.IntegerAttr(o.operation.attributes["depth"]).value for o in graph.regions[0].blocks[0].operations
               if o.operation.name == "df.channel"]
        assert got == [r["depth"] for r in res["channels"]]


def test_a_deadlocking_override_names_the_cycle_and_the_channel():
    ctx, m, graph = _graph(DIAMOND)
    with ctx, pytest.raises(FifoDeadlock, match=r"deadlock at cycle \d+: kernel 'a' cannot write to the full "
                                                 r"channel 'a->c' \(depth 3\)"):
        size_fifos(graph, SizeFifosOptions(override="a->c=3"))
    ctx, m, graph = _graph(DIAMOND)
    with ctx:
        res = size_fifos(graph, SizeFifosOptions(override="a->c=4"))  # the deadlock-free minimum, with stalls
        assert next(r for r in res["channels"] if r["channel"] == "a->c") == {
            "channel": "a->c", "depth": 4, "width": 16, "tokens": 4, "bits": 64, "fixed": True}
    with ctx, pytest.raises(ConfigError, match="must be channel=depth"):
        size_fifos(graph, SizeFifosOptions(override="a->c=0"))


def test_every_simulation_has_a_cycle_budget():
    ctx, m, graph = _graph(DIAMOND)
    with ctx:
        procs, chans = build_model(graph, device_for("xcvu13p"), 5.0)
        with pytest.raises(CycleBudgetExceeded, match="cycle budget of 20 cycles"):
            simulate(procs, chans, 100, 20)
        assert all(c.depth == INF for c in chans if c.op is not None)


def test_one_token_per_sample_buffers_the_latency_difference():
    text = re.sub(r", tokens = \d+ : i64", "", DIAMOND)  # one token per tensor everywhere
    ctx, m, graph = _graph(text)
    with ctx:
        res = size_fifos(graph, SizeFifosOptions(clock="200MHz", part="xcvu9p-flga2104-2L-e"))
        depths = {r["channel"]: r["depth"] for r in res["channels"]}
        # c waits for b's latency while a keeps streaming: only the short branch of the diamond buffers
        assert depths["a->c"] > 2 and all(d <= 2 for name, d in depths.items() if name != "a->c")
        assert res["fifo_bits_naive"] == depths["a->c"] * sum(r["width"] for r in res["channels"])
