"""RTL builders of the `fxp` ops: the registry and shared datapath helpers (base.py), re-exported here, and
one module of builders per op family, imported here so that importing the package registers every builder."""

from . import elementwise, layers, shape, tables, transformer  # noqa: F401  (register their @rtl_op builders)
from .base import (RTL_OPS, UNSUPPORTED, OpContext, Value, accumulate, build_op, constant,  # noqa: F401
                   dense_plan, product, rtl_op)
from .layers import div_toward_zero  # noqa: F401
