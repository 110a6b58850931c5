"""RTL builders of the `fxp` ops: the registry and shared datapath helpers (base.py), re-exported here."""

from .base import (RTL_OPS, UNSUPPORTED, OpContext, Value, accumulate, build_op, constant,  # noqa: F401
                   dense_plan, product, rtl_op)
