"""Shared driver code for fxflow's command-line tools (`fxflow-opt`, `fxflow-translate`).

Everything an mlir-opt-like tool needs besides its actual transformation:

* reading the input (a file or `-` for stdin) and `--split-input-file` (chunks separated by `// -----`
  lines; every chunk is parsed with blank lines in front of it so that line numbers in diagnostics and
  locations refer to the original file);
* capturing diagnostics (the context's diagnostic handler for warnings/remarks, `MLIRError.error_diagnostics`
  for parse / verify / pass failures, and `FxflowError`/`ValueError` exceptions) as plain `Diag` records;
* printing them as `file:line:col: error: message` with the source line and a caret, like mlir-opt;
* `--verify-diagnostics`: matching the captured diagnostics against `// expected-error {{...}}` designators.

This module imports the MLIR bindings only inside functions, so `--help` stays cheap.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, Iterable

SPLIT_MARKER = "// -----"
_SPLIT_RE = re.compile(r"^[ \t]*// -----")

SEVERITIES = ("error", "warning", "note", "remark")


class ToolError(Exception):
    """A usage error of the tool itself (bad flag, unknown pass, unreadable input): printed, exit 1.

    With `formatted`, the message is already a complete diagnostic and is printed as is."""

    def __init__(self, message: str, formatted: bool = False):
        super().__init__(message)
        self.formatted = formatted


# ---------------------------------------------------------------------------------------------------
# Source text and chunks
# ---------------------------------------------------------------------------------------------------


@dataclass
class Source:
    """The whole input: its display name (as given, `<stdin>` for stdin) and its text."""

    name: str
    text: str

    def __post_init__(self):
        self.lines = self.text.split("\n")

    def line(self, number: int) -> str | None:
        if 1 <= number <= len(self.lines):
            return self.lines[number - 1].rstrip("\r")
        return None


@dataclass
class Chunk:
    """One piece of the input; `first_line` is the 1-based line of the original file it starts at."""

    source: Source
    text: str
    first_line: int

    @property
    def padded_text(self) -> str:
        """The chunk prefixed with blank lines so the parser's line numbers match the original file."""
        return "\n" * (self.first_line - 1) + self.text

    def numbered_lines(self) -> Iterable[tuple[int, str]]:
        lines = self.text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the text after a final newline is not a line
        for k, line in enumerate(lines):
            yield self.first_line + k, line


def read_source(path: str) -> Source:
    if path == "-":
        data = sys.stdin.buffer.read()
        name = "<stdin>"
    else:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as e:
            raise ToolError(f"could not open input file '{path}': {e.strerror or e}") from None
        name = path
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ToolError(f"input file '{name}' is not UTF-8 text (byte {e.start})") from None
    return Source(name, text)


def split_source(source: Source, split: bool) -> list[Chunk]:
    """The chunks of the input: the whole file, or the pieces between `// -----` lines."""
    if not split:
        return [Chunk(source, source.text, 1)]
    chunks: list[Chunk] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(source.lines, start=1):
        if _SPLIT_RE.match(line):
            chunks.append(Chunk(source, "\n".join(current), start))
            current = []
            start = number + 1
        else:
            current.append(line)
    chunks.append(Chunk(source, "\n".join(current), start))
    return chunks


# ---------------------------------------------------------------------------------------------------
# Diagnostics
# ---------------------------------------------------------------------------------------------------


@dataclass
class Diag:
    """A diagnostic detached from MLIR: location (file/line/col, None if unknown), severity, text, notes."""

    severity: str
    message: str
    file: str | None = None
    line: int = 0
    col: int = 0
    notes: list["Diag"] = field(default_factory=list)

    def flattened(self) -> list["Diag"]:
        """The diagnostic followed by its notes (each matched separately by --verify-diagnostics)."""
        out = [self]
        for n in self.notes:
            out.extend(n.flattened())
        return out


# The first `"file":line:col` inside a printed location: works for plain file locations and for the
# file location nested in name / call-site / fused locations.
_LOC_RE = re.compile(r'"((?:[^"\\]|\\.)*)":(\d+):(\d+)')
_SEVERITY_NAMES = {"ERROR": "error", "WARNING": "warning", "NOTE": "note", "REMARK": "remark"}


def _unescape(s: str) -> str:
    def repl(m):
        esc = m.group(1)
        if esc in ('"', "\\"):
            return esc
        if esc == "n":
            return "\n"
        if esc == "t":
            return "\t"
        try:
            return chr(int(esc, 16))
        except ValueError:
            return m.group(0)

    return re.sub(r"\\([0-9A-Fa-f]{2}|.)", repl, s)


def location_parts(loc, source_name: str | None = None) -> tuple[str | None, int, int]:
    """(file, line, col) of an MLIR Location; the parser's anonymous buffer `-` becomes `source_name`."""
    if loc is None:
        return None, 0, 0
    m = _LOC_RE.search(str(loc))
    if m is None:
        return None, 0, 0
    file = _unescape(m.group(1))
    if file == "-" and source_name is not None:
        file = source_name
    return file, int(m.group(2)), int(m.group(3))


def diag_from_mlir(d, source_name: str | None = None) -> Diag:
    """Copy an `ir.Diagnostic` (handler callback) or `ir.DiagnosticInfo` (MLIRError) into a Diag."""
    sev = getattr(d.severity, "name", str(d.severity)).split(".")[-1]
    file, line, col = location_parts(d.location, source_name)
    notes = [diag_from_mlir(n, source_name) for n in d.notes]
    return Diag(_SEVERITY_NAMES.get(sev.upper(), sev.lower()), str(d.message), file, line, col, notes)


def diag_from_exception(e: BaseException, source_name: str | None = None) -> Diag:
    """An `FxflowError`/`ValueError` raised by a pass or translation, as an error diagnostic.

    If the exception carries an MLIR `location` attribute, the diagnostic is placed there."""
    file, line, col = location_parts(getattr(e, "location", None), source_name)
    return Diag("error", str(e) or type(e).__name__, file, line, col)


def format_diag(d: Diag, source: Source | None = None, snippet: bool = True) -> str:
    """`file:line:col: severity: message` (+ the source line and a caret), then the notes."""
    if d.file is None:
        # No location (an exception from a pass, or loc(unknown)): name the input being processed.
        where = source.name if source is not None else "loc(unknown)"
        head = f"{where}: {d.severity}: {d.message}"
    else:
        head = f"{d.file}:{d.line}:{d.col}: {d.severity}: {d.message}"
    out = [head]
    if snippet and source is not None and d.file == source.name and d.line > 0:
        text = source.line(d.line)
        if text is not None and text.strip():
            out.append(text)
            out.append(" " * max(d.col - 1, 0) + "^")
    for n in d.notes:
        out.append(format_diag(n, source, snippet))
    return "\n".join(out)


class DiagnosticCollector:
    """Attach to a Context; every diagnostic the handler receives is kept (and not printed by MLIR)."""

    def __init__(self, ctx, source_name: str | None):
        self.source_name = source_name
        self.diags: list[Diag] = []
        self._ctx = ctx
        self._handle = None

    def __enter__(self):
        self._handle = self._ctx.attach_diagnostic_handler(self._on_diagnostic)
        return self

    def __exit__(self, *exc):
        if self._handle is not None:
            self._handle.detach()
            self._handle = None
        return False

    def _on_diagnostic(self, d) -> bool:
        self.diags.append(diag_from_mlir(d, self.source_name))
        return True  # handled: MLIR must not print it as well

    def add_mlir_error(self, e) -> bool:
        """Record the diagnostics carried by an MLIRError; False if it carried none."""
        infos = list(getattr(e, "error_diagnostics", None) or [])
        for info in infos:
            self.diags.append(diag_from_mlir(info, self.source_name))
        return bool(infos)

    def add(self, d: Diag) -> None:
        self.diags.append(d)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diags)


# ---------------------------------------------------------------------------------------------------
# --verify-diagnostics
# ---------------------------------------------------------------------------------------------------

_DESIGNATOR_RE = re.compile(r"expected-(error|warning|note|remark)(-re)?\b")
_OFFSET_RE = re.compile(r"\s*@(?:([+-]\d+)|(above|below|unknown))\b")


@dataclass
class Expected:
    severity: str
    text: str
    line: int | None  # None: a diagnostic without location (`@unknown`)
    designator_line: int
    designator_col: int
    regex: re.Pattern | None = None
    matched: bool = False

    def matches(self, d: Diag, source_name: str) -> bool:
        if d.severity != self.severity:
            return False
        if self.line is None:
            if d.file is not None:
                return False
        elif d.file != source_name or d.line != self.line:
            return False
        if self.regex is not None:
            return self.regex.search(d.message) is not None
        return self.text in d.message


def _designator_regex(text: str) -> re.Pattern:
    """`expected-error-re`: literal text with `{{regex}}` pieces."""
    parts, pos = [], 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(re.escape(text[pos:]))
            break
        end = text.find("}}", start + 2)
        if end < 0:
            raise ValueError("unterminated '{{' in expected-*-re pattern")
        parts.append(re.escape(text[pos:start]))
        parts.append("(?:" + text[start + 2:end] + ")")
        pos = end + 2
    return re.compile("".join(parts))


def parse_expectations(chunk: Chunk) -> tuple[list[Expected], list[Diag]]:
    """The `expected-*` designators of a chunk, and errors for malformed ones."""
    expected: list[Expected] = []
    problems: list[Diag] = []
    pending_below: list[Expected] = []
    last_plain_line: int | None = None
    name = chunk.source.name
    for number, line in chunk.numbered_lines():
        matches = list(_DESIGNATOR_RE.finditer(line))
        if not matches:
            for e in pending_below:
                e.line = number
            pending_below = []
            last_plain_line = number
            continue
        for k, m in enumerate(matches):
            seg_end = matches[k + 1].start() if k + 1 < len(matches) else len(line)
            rest = line[m.end():seg_end]
            col = m.start() + 1
            off = _OFFSET_RE.match(rest)
            target: int | None = number
            where = "here"
            if off:
                rest = rest[off.end():]
                if off.group(1):
                    target = number + int(off.group(1))
                else:
                    where = off.group(2)
            open_ = rest.find("{{")
            close = rest.rfind("}}")
            if open_ < 0 or close < open_ + 2 or rest[:open_].strip():
                problems.append(Diag("error", f"expected '{{{{' and '}}}}' around the message of expected-{m.group(1)}",
                                     name, number, col))
                continue
            text = rest[open_ + 2:close]
            regex = None
            if m.group(2):
                try:
                    regex = _designator_regex(text)
                except (ValueError, re.error) as err:
                    problems.append(Diag("error", f"invalid regex in expected-{m.group(1)}-re: {err}", name, number, col))
                    continue
            e = Expected(m.group(1), text, target, number, col, regex)
            if where == "above":
                if last_plain_line is None:
                    problems.append(Diag("error", "expected-*@above has no line above it", name, number, col))
                    continue
                e.line = last_plain_line
            elif where == "below":
                pending_below.append(e)
            elif where == "unknown":
                e.line = None
            expected.append(e)
    for e in pending_below:
        problems.append(Diag("error", f"expected-{e.severity}@below has no line below it", name,
                             e.designator_line, e.designator_col))
        expected.remove(e)
    return expected, problems


def _without_op_notes(d: Diag) -> Diag:
    """mlir-opt turns off the "see current operation: ..." notes under --verify-diagnostics; do the same
    (the bindings offer no switch, so drop them) so that tests behave alike under both tools."""
    notes = [_without_op_notes(n) for n in d.notes if not n.message.startswith("see current operation:")]
    return Diag(d.severity, d.message, d.file, d.line, d.col, notes)


def verify_diagnostics(chunk: Chunk, diags: list[Diag]) -> list[Diag]:
    """Match emitted diagnostics against the chunk's designators; the problems (empty = success)."""
    expected, problems = parse_expectations(chunk)
    name = chunk.source.name
    for d in (x for top in diags for x in top.flattened()):
        candidates = [e for e in expected if e.matches(d, name)]
        if candidates:
            fresh = [e for e in candidates if not e.matched]
            (fresh or candidates)[0].matched = True
            continue
        problems.append(Diag("error", f"unexpected {d.severity}: {d.message}", d.file, d.line, d.col))
    for e in expected:
        if not e.matched:
            problems.append(Diag("error", f'expected {e.severity} "{e.text}" was not produced', name,
                                 e.designator_line, e.designator_col))
    return problems


# ---------------------------------------------------------------------------------------------------
# Parsing and the per-chunk driver
# ---------------------------------------------------------------------------------------------------


def relocate(module_op, source_name: str) -> None:
    """Give the parser's anonymous buffer name `-` the real source name in all locations of the IR."""
    from fxflow.ir import ir

    ctx = module_op.context

    def fix(loc):
        if isinstance(loc, ir.FileLineColLoc) and loc.filename == "-":
            return ir.Location.file(source_name, loc.start_line, loc.start_col, context=ctx)
        return None

    def visit(op):
        new = fix(op.location)
        if new is not None:
            op.location = new
        for region in op.regions:
            for block in region.blocks:
                for arg in block.arguments:
                    new = fix(arg.location)
                    if new is not None:
                        arg.set_location(new)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit, ir.WalkOrder.PRE_ORDER)


def parse_chunk(chunk: Chunk, ctx):
    """Parse (and verify) a chunk into a Module; raises MLIRError with located diagnostics."""
    from fxflow.ir import ir

    module = ir.Module.parse(chunk.padded_text, ctx)
    relocate(module.operation, chunk.source.name)
    return module


def print_module(module, debuginfo: bool = False, local_scope: bool = False, assume_verified: bool = False) -> str:
    return module.operation.get_asm(print_generic_op_form=True, enable_debug_info=debuginfo,
                                    use_local_scope=local_scope, assume_verified=assume_verified)


@dataclass
class ChunkResult:
    ok: bool
    output: str | None


def run_chunk(chunk: Chunk, process: Callable, *, verify: bool, allow_unregistered: bool = False) -> ChunkResult:
    """Parse one chunk in a fresh Context, run `process(module, ctx, collector) -> str`, and report.

    Without `verify`, diagnostics are printed to stderr and the chunk fails on any error.  With `verify`,
    the chunk succeeds exactly when the diagnostics match its `expected-*` designators."""
    from fxflow.errors import FxflowError
    from fxflow.dialects import new_context
    from fxflow.ir import ir

    source = chunk.source
    ctx = new_context()
    if allow_unregistered:
        ctx.allow_unregistered_dialects = True
    output = None
    failed = False
    with DiagnosticCollector(ctx, source.name) as diags:
        try:
            module = parse_chunk(chunk, ctx)
            with ctx, ir.Location.unknown(ctx):
                output = process(module, ctx, diags)
        except ir.MLIRError as e:
            failed = True
            if not diags.add_mlir_error(e) and not verify:
                diags.add(Diag("error", str(e.message) if getattr(e, "message", None) else str(e)))
        except (FxflowError, ValueError) as e:
            failed = True
            diags.add(diag_from_exception(e, source.name))
    failed = failed or diags.has_errors
    if verify:
        problems = verify_diagnostics(chunk, [_without_op_notes(d) for d in diags.diags])
        for p in problems:
            emit(format_diag(p, source))
        return ChunkResult(not problems, None if failed else output)
    for d in diags.diags:
        emit(format_diag(d, source))
    return ChunkResult(not failed, None if failed else output)


def emit(message: str) -> None:
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)


def tool_error(tool: str, message: str) -> int:
    emit(f"{tool}: error: {message}")
    return 1


# ---------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------


def normalize_argv(argv: list[str], short_options: Iterable[str] = ("-o", "-p", "-h")) -> list[str]:
    """mlir-opt accepts `-split-input-file`; argparse wants `--split-input-file`."""
    out = []
    only_positional = False
    for a in argv:
        if only_positional or a == "-" or not a.startswith("-") or a.startswith("--"):
            only_positional = only_positional or a == "--"
            out.append(a)
            continue
        head = a.split("=", 1)[0]
        if head in short_options or len(head) == 2:
            out.append(a)
        else:
            out.append("-" + a)
    return out


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", nargs="?", default="-", help="input file ('-' for stdin, the default)")
    parser.add_argument("-o", dest="output", default="-", metavar="FILE", help="output file ('-' for stdout)")
    parser.add_argument("--split-input-file", action="store_true",
                        help=f"split the input at '{SPLIT_MARKER}' lines and process each chunk independently")
    parser.add_argument("--verify-diagnostics", action="store_true",
                        help="check emitted diagnostics against 'expected-error {{...}}' designators")
    parser.add_argument("--allow-unregistered-dialect", action="store_true",
                        help="accept operations of unregistered dialects")


def run_all(args, tool: str, process: Callable) -> int:
    """Read, split, process every chunk, write the outputs; the exit code."""
    source = read_source(args.input)
    results = [run_chunk(c, process, verify=args.verify_diagnostics,
                         allow_unregistered=getattr(args, "allow_unregistered_dialect", False))
               for c in split_source(source, args.split_input_file)]
    ok = all(r.ok for r in results)
    outputs = [r.output if r.output.endswith("\n") or not r.output else r.output + "\n"
               for r in results if r.output is not None]
    text = ("// -----\n" if args.split_input_file else "").join(outputs)
    if args.output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    elif ok:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            raise ToolError(f"could not write output file '{args.output}': {e.strerror or e}") from None
    return 0 if ok else 1


def guarded_main(tool: str, body: Callable[[], int]) -> int:
    """Run a tool body; user errors become one clean message and exit code 1 (never a traceback); a bug in
    fxflow (InternalError) is reported as one and exits with INTERNAL_ERROR_EXIT_CODE."""
    import warnings

    from fxflow.errors import INTERNAL_ERROR_EXIT_CODE, FxflowError, InternalError

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # A pass's warnings.warn (e.g. a reuse factor rounded) reads like an MLIR diagnostic, not Python.
        emit(f"{tool}: warning: {message}")

    warnings.showwarning = show_warning
    try:
        return body()
    except ToolError as e:
        if e.formatted:
            emit(str(e))
            return 1
        return tool_error(tool, str(e))
    except BrokenPipeError:
        # The reader went away (`| head`): silence the final flush of stdout and exit quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 1
    except KeyboardInterrupt:
        return 130
    except InternalError as e:
        emit(f"{tool}: internal error (please report): {e}")
        return INTERNAL_ERROR_EXIT_CODE
    except (FxflowError, ValueError) as e:
        return tool_error(tool, str(e))
    except Exception as e:  # MLIRError escaping a chunk (should not happen) still gets a clean message
        if type(e).__name__ == "MLIRError":
            return tool_error(tool, str(e))
        raise
