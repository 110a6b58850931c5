"""Which multiplier a layer uses: a registered name, a user model (`table(...)`/`cfunc(...)`, approx/user.py) or
a family spec instantiated for the layer's operand formats.

It sits above both `multiplier` (the class, families and registry) and `user` (which builds on the class), so
`user` can use the class without `multiplier` importing `user` back.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..fixed import FixedFormat
from .families import FAMILIES
from .multiplier import MAX_TABLE_BITS, OPERAND_ROLES, REGISTRY, Multiplier, build, multipliers, parse_spec
from .user import load_user


def resolve(spec: str, a: FixedFormat, b: FixedFormat, layer: str,
            roles: tuple[str, str] = OPERAND_ROLES) -> Multiplier:
    """The multiplier a layer with input format `a` and weight format `b` (fxp.matmul: lhs and rhs, named by
    `roles`) uses; errors name the layer."""
    try:
        name, params = parse_spec(spec)
        if name in REGISTRY or (name not in FAMILIES and name in multipliers()):
            if params:
                raise ConfigError(f"'{name}' is a named multiplier and takes no parameters")
            mult = REGISTRY[name]
        elif name in ("table", "cfunc"):
            mult = load_user(name, params, spec)
        else:
            mult = build(spec, a.width, a.signed, b.width, b.signed)
    except ConfigError as e:
        raise ConfigError(f"layer '{layer}': {e}") from None
    why = mult.accepts(a, b, roles)
    if why is None and mult.wa + mult.wb > MAX_TABLE_BITS:
        why = (f"{mult.wa} + {mult.wb} operand bits exceed the {MAX_TABLE_BITS} over whose every operand pair the "
               "range analysis and the error metrics evaluate it")
    if why is not None:
        raise ConfigError(f"layer '{layer}': multiplier '{spec}' cannot be used: {why}")
    return mult
