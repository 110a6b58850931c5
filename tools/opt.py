"""`fxflow-opt`: parse MLIR (with fxflow's dialects), run a pass pipeline, print the result (generic form).

    fxflow-opt in.mlir --pass-pipeline='builtin.module(fxp-assign-precision{precision=ap_fixed<8,3>},canonicalize)'
    fxflow-opt in.mlir --fxp-assign-precision='precision=ap_fixed<8,3>' --canonicalize --cse
    fxflow-opt in.mlir --split-input-file --verify-diagnostics
    fxflow-opt --list-passes

Behaves like mlir-opt: `-` / stdin input, `-o FILE`, `--split-input-file`, `--verify-diagnostics`,
`--mlir-print-ir-after-all`, `--mlir-timing`, `--mlir-print-debuginfo`.  Errors are printed as MLIR
diagnostics (`file:line:col: error: ...`) and give exit code 1.

MLIR's own pipeline parser does not know fxflow's Python passes, so `--pass-pipeline` is split here:
every top-level element naming a registered fxflow pass becomes `add_to_pass_manager(pm, name, options)`;
everything else (upstream passes, nested `func.func(...)` pipelines) goes to `pm.add("<text>")`, in order.
Pass flags and `--pass-pipeline` arguments are applied in command-line order.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field

from .common import (ToolError, add_common_arguments, guarded_main, normalize_argv, print_module, run_all)

# Upstream passes that get their own flag (any upstream pass works inside --pass-pipeline).
UPSTREAM_FLAGS = {
    "canonicalize": "Canonicalize operations (upstream MLIR)",
    "cse": "Eliminate common sub-expressions (upstream MLIR)",
    "symbol-dce": "Eliminate dead symbols (upstream MLIR)",
    "sccp": "Sparse conditional constant propagation (upstream MLIR)",
    "inline": "Inline function calls (upstream MLIR)",
    "loop-invariant-code-motion": "Hoist loop invariant instructions outside of the loop (upstream MLIR)",
    "strip-debuginfo": "Strip debug info from all operations (upstream MLIR)",
}

TOOL = "fxflow-opt"

_CLOSE = {"(": ")", "{": "}", "[": "]"}


@dataclass
class Element:
    """One pipeline element; `pos` is its 0-based offset in the pipeline text (for error carets)."""

    name: str
    text: str  # the element exactly as written (given to MLIR for upstream elements)
    pos: int
    options: str | None = None  # the text between `{` and `}`
    nested: list["Element"] | None = None  # elements of `op-name(...)`


@dataclass
class Step:
    """A pass-manager step: a registered fxflow pass with options, or upstream pipeline text."""

    kind: str  # "fxflow" or "mlir"
    name: str
    options: dict[str, str] = field(default_factory=dict)
    text: str = ""
    origin: str = ""  # where it came from, for messages (`--pass-pipeline`, `--canonicalize`)
    pos: int = 0
    source_text: str = ""


class PipelineError(ToolError):
    """A bad pipeline element; with the pipeline text and an offset it prints like an MLIR diagnostic."""

    def __init__(self, message: str, text: str = "", pos: int | None = None, origin: str = "pass-pipeline"):
        located = pos is not None and bool(text)
        if located:
            message = f"<{origin}>:1:{pos + 1}: error: {message}\n{text}\n{' ' * pos}^"
        super().__init__(message, formatted=located)


def _scan_balanced(text: str, start: int) -> int:
    """Index just past the bracket group opening at text[start] (quotes respected)."""
    stack = [_CLOSE[text[start]]]
    i = start + 1
    quote = None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in _CLOSE:
            stack.append(_CLOSE[c])
        elif c in ")}]":
            if c != stack[-1]:
                raise ValueError(i)
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    raise ValueError(len(text))


def split_top_level(text: str, sep: str = ",") -> list[tuple[int, str]]:
    """Split at `sep` outside brackets and quotes; (offset, piece) pairs."""
    pieces, depth, quote, start, i = [], 0, None, 0, 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "({[<":
            depth += 1
        elif c in ")}]>":
            depth = max(depth - 1, 0)
        elif (c == sep or (sep == " " and c.isspace())) and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
        i += 1
    pieces.append((start, text[start:]))
    return pieces


def parse_elements(text: str, base: int = 0, full: str | None = None, origin: str = "pass-pipeline") -> list[Element]:
    """Parse a comma-separated list of pipeline elements."""
    full = text if full is None else full
    elements = []
    if not text.strip():
        return elements
    for off, piece in split_top_level(text):
        stripped = piece.strip()
        pos = base + off + (len(piece) - len(piece.lstrip()))
        if not stripped:
            raise PipelineError("expected a pass name", full, pos, origin)
        i = 0
        while i < len(stripped) and (stripped[i].isalnum() or stripped[i] in "_-."):
            i += 1
        name = stripped[:i]
        if not name:
            raise PipelineError(f"expected a pass name, found '{stripped[0]}'", full, pos, origin)
        el = Element(name, stripped, pos)
        rest = stripped[i:]
        j = i
        while rest[:1].isspace():
            rest, j = rest[1:], j + 1
        if rest[:1] in ("{", "("):
            try:
                end = _scan_balanced(stripped, j)
            except ValueError as e:
                raise PipelineError("unbalanced brackets in pass pipeline", full, pos + e.args[0], origin) from None
            inner = stripped[j + 1:end - 1]
            if rest[0] == "{":
                el.options = inner
            else:
                el.nested = parse_elements(inner, pos + j + 1, full, origin)
            if stripped[end:].strip():
                raise PipelineError(f"unexpected text after '{stripped[:end]}'", full,
                                    pos + end + (len(stripped[end:]) - len(stripped[end:].lstrip())), origin)
        elif rest:
            raise PipelineError(f"unexpected '{rest[0]}' after pass name '{name}'", full, pos + j, origin)
        elements.append(el)
    return elements


def parse_options(text: str | None) -> dict[str, str]:
    """`key=value key2="quoted value" flag` -> {key: value}; surrounding quotes are removed."""
    opts: dict[str, str] = {}
    if not text:
        return opts
    for _, tok in split_top_level(text.strip(), " "):
        tok = tok.strip()
        if not tok:
            continue
        key, eq, value = tok.partition("=")
        key = key.strip()
        if not key:
            raise ToolError(f"malformed pass option '{tok}': expected key=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        opts[key] = value if eq else "true"
    return opts


def _contains_fxflow_pass(elements: list[Element], passes) -> Element | None:
    for el in elements:
        if el.nested is None and el.name in passes:
            return el
        if el.nested is not None:
            hit = _contains_fxflow_pass(el.nested, passes)
            if hit:
                return hit
    return None


def pipeline_steps(text: str, passes, origin: str = "pass-pipeline") -> list[Step]:
    """Steps of a `--pass-pipeline` string (optionally wrapped in `builtin.module(...)`)."""
    elements = parse_elements(text, origin=origin)
    steps: list[Step] = []

    def flatten(els):
        for el in els:
            if el.nested is not None and el.name == "builtin.module":
                flatten(el.nested)
                continue
            if el.nested is None and el.name in passes:
                try:
                    opts = parse_options(el.options)
                except ToolError as e:
                    raise PipelineError(str(e), text, el.pos, origin) from None
                steps.append(Step("fxflow", el.name, opts, el.text, origin, el.pos, text))
                continue
            if el.nested is not None:
                hit = _contains_fxflow_pass(el.nested, passes)
                if hit is not None:
                    raise PipelineError(
                        f"fxflow pass '{hit.name}' cannot be nested under '{el.name}': fxflow passes run on "
                        "builtin.module; list it at the top level of the pipeline", text, hit.pos, origin)
            steps.append(Step("mlir", el.name, {}, el.text, origin, el.pos, text))

    flatten(elements)
    return steps


def add_steps(pm, steps: list[Step], passes, verify: bool = True) -> None:
    """Append the steps to a PassManager (anchored on builtin.module), reporting bad ones clearly;
    `verify` checks the IR after each of fxflow's passes (an InternalError names a pass that breaks it)."""
    from fxflow.passes import add_to_pass_manager

    for step in steps:
        if step.kind == "fxflow":
            try:
                options = passes[step.name].make_options(step.options)
            except ValueError as e:
                raise PipelineError(str(e), step.source_text, step.pos if step.source_text else None,
                                    step.origin) from None
            add_to_pass_manager(pm, step.name, options, verify=verify)
            continue
        try:
            pm.add(step.text)
        except ValueError as e:
            msg = str(e).strip()
            pos = step.pos
            # "MLIR Textual PassPipeline Parser:1:COL: error: MESSAGE\n<element>\n   ^": point into our text.
            m = re.match(r"[^\n]*?:1:(\d+): error: ([^\n]*)", msg)
            if m:
                msg = m.group(2)
                pos = step.pos + int(m.group(1)) - 1
            if "does not refer to a registered pass" in msg:
                msg += " (neither an fxflow pass nor an upstream MLIR pass; see --list-passes)"
            else:
                msg = msg.replace("\n\n", "\n")
            if step.source_text and m:
                pos = min(pos, len(step.source_text))
            raise PipelineError(msg, step.source_text, pos if step.source_text else None,
                                step.origin) from None


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------


def _flag_steps(name: str, value: str | None, passes) -> list[Step]:
    """The step of a pass flag `--name[=options]`."""
    origin = f"--{name}"
    text = (value or "").strip()
    if len(text) >= 2 and text[0] == "{" and text[-1] == "}":
        text = text[1:-1]
    if name in passes:
        return [Step("fxflow", name, parse_options(text), origin=origin)]
    return [Step("mlir", name, {}, f"{name}{{{text}}}" if text else name, origin)]


def extract_pass_arguments(argv: list[str], passes) -> tuple[list[Step], list[str]]:
    """Take pass flags and --pass-pipeline out of argv (in order); the rest goes to argparse.

    Done by hand because pass options are attached with `=` only: `--canonicalize in.mlir` must not
    read `in.mlir` as options."""
    steps: list[Step] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i:])
            break
        if a in ("--pass-pipeline", "-p"):
            if i + 1 >= len(argv):
                raise ToolError(f"option '{a}' requires a pipeline argument")
            steps.extend(pipeline_steps(argv[i + 1], passes))
            i += 2
            continue
        if a.startswith("--pass-pipeline=") or a.startswith("-p="):
            steps.extend(pipeline_steps(a.split("=", 1)[1], passes))
            i += 1
            continue
        if a.startswith("--"):
            name, eq, value = a[2:].partition("=")
            if name in passes or name in UPSTREAM_FLAGS:
                steps.extend(_flag_steps(name, value if eq else None, passes))
                i += 1
                continue
        rest.append(a)
        i += 1
    return steps, rest


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=TOOL, allow_abbrev=False,
        description="Parse MLIR with fxflow's dialects, run passes, print the module in generic form.",
        epilog="Pass flags: --<pass>[='opt=v ...'] for every fxflow pass (see --list-passes) and for "
               + ", ".join(f"--{n}" for n in UPSTREAM_FLAGS) + "; applied in command-line order together "
               "with --pass-pipeline.")
    add_common_arguments(p)
    p.add_argument("-p", "--pass-pipeline", metavar="PIPELINE",
                   help="textual pipeline, e.g. 'builtin.module(fxp-x{opt=v},func.func(canonicalize))'")
    p.add_argument("--list-passes", action="store_true", help="list the registered passes and exit")
    p.add_argument("--mlir-print-debuginfo", action="store_true", help="print locations in the output")
    p.add_argument("--mlir-print-local-scope", action="store_true",
                   help="print types and locations inline instead of as aliases")
    p.add_argument("--mlir-print-ir-after-all", action="store_true", help="print the IR after every pass (stderr)")
    p.add_argument("--mlir-print-ir-before-all", action="store_true", help="print the IR before every pass")
    p.add_argument("--mlir-print-ir-after-change", action="store_true",
                   help="with --mlir-print-ir-after-all: only when a pass changed the IR")
    p.add_argument("--mlir-print-ir-after-failure", action="store_true", help="print the IR after a failing pass")
    p.add_argument("--mlir-print-ir-module-scope", action="store_true",
                   help="print the whole module, not only the pass's anchor op")
    p.add_argument("--mlir-timing", action="store_true", help="print pass execution times (stderr)")
    p.add_argument("--no-verify-each", dest="verify_each", action="store_false",
                   help="do not run the verifier after each pass")
    return p


def list_passes(passes) -> str:
    import dataclasses

    lines = ["fxflow passes (--<name>[='opt=v ...'] or inside --pass-pipeline='builtin.module(<name>{opt=v})'):"]
    if not passes:
        lines.append("  (none registered)")
    for name in sorted(passes):
        info = passes[name]
        lines.append(f"  {name:<34} {info.description}")
        if info.options is not None:
            for f in info.textual_options():
                typ = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
                if f.default is not dataclasses.MISSING:
                    default = f" = {f.default!r}"
                elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                    default = f" = {f.default_factory()!r}"  # type: ignore[misc]
                else:
                    default = ""
                lines.append(f"      {f.name.replace('_', '-')}: {typ}{default}")
    lines.append("upstream MLIR passes with a flag (any other upstream pass works inside --pass-pipeline):")
    for name, desc in UPSTREAM_FLAGS.items():
        lines.append(f"  {name:<34} {desc}")
    return "\n".join(lines) + "\n"


def make_pass_manager(ctx, steps: list[Step], passes, args):
    from fxflow.ir import PassManager

    pm = PassManager("builtin.module", ctx)
    add_steps(pm, steps, passes, verify=args.verify_each)
    pm.enable_verifier(args.verify_each)
    if args.mlir_print_ir_after_all or args.mlir_print_ir_before_all or args.mlir_print_ir_after_failure:
        if args.mlir_print_ir_module_scope:
            ctx.enable_multithreading(False)  # MLIR requires it for module-scope IR printing
        pm.enable_ir_printing(
            print_before_all=args.mlir_print_ir_before_all,
            print_after_all=args.mlir_print_ir_after_all,
            print_module_scope=args.mlir_print_ir_module_scope,
            print_after_change=args.mlir_print_ir_after_change,
            print_after_failure=args.mlir_print_ir_after_failure,
            enable_debug_info=args.mlir_print_debuginfo,
            print_generic_op_form=True,
        )
    if args.mlir_timing:
        pm.enable_timing()
    return pm


def _main(argv: list[str]) -> int:
    import fxflow.passes
    from fxflow.passes import PASSES

    fxflow.passes.load_all()
    steps, rest = extract_pass_arguments(normalize_argv(argv), PASSES)
    args = build_parser().parse_args(rest)
    if args.list_passes:
        sys.stdout.write(list_passes(PASSES))
        return 0

    if steps:  # reject unknown passes and bad options before touching the input
        from fxflow.dialects import new_context

        make_pass_manager(new_context(), steps, PASSES, args)

    def process(module, ctx, diags):
        if steps:
            pm = make_pass_manager(ctx, steps, PASSES, args)
            try:
                pm.run(module.operation)
            finally:
                del pm  # the timing report is printed when the pass manager goes away
        return print_module(module, debuginfo=args.mlir_print_debuginfo, local_scope=args.mlir_print_local_scope,
                            assume_verified=args.verify_each)

    return run_all(args, TOOL, process)


def main(argv: list[str] | None = None) -> int:
    return guarded_main(TOOL, lambda: _main(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
