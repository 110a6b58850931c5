"""`fxflow-translate`: MLIR (fxflow dialects) in, text out — one flag per registered translation.

    fxflow-translate design.mlir --emit-hls-cpp -o myproject.cpp
    fxflow-translate --list-translations

Translations are registered with `@register_translation(name, description)` on `fn(module) -> str`
(fxflow.passes.registry.TRANSLATIONS).  Input handling (`-`, `-o`, `--split-input-file`,
`--verify-diagnostics`) and error reporting are those of `fxflow-opt`.
"""

from __future__ import annotations

import argparse
import sys

from .common import ToolError, add_common_arguments, guarded_main, normalize_argv, run_all

TOOL = "fxflow-translate"


def build_parser(translations) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=TOOL, allow_abbrev=False,
                                description="Translate MLIR in fxflow's dialects to text (e.g. HLS C++).")
    add_common_arguments(p)
    p.set_defaults(translation=None)
    p.add_argument("--list-translations", action="store_true", help="list the registered translations and exit")
    group = p.add_argument_group("translations (exactly one)")
    for name in sorted(translations):
        group.add_argument(f"--{name}", dest="translation", action="append_const", const=name,
                           help=translations[name][0])
    return p


def list_translations(translations) -> str:
    lines = ["fxflow translations (--<name>):"]
    if not translations:
        lines.append("  (none registered)")
    for name in sorted(translations):
        lines.append(f"  {name:<24} {translations[name][0]}")
    return "\n".join(lines) + "\n"


def _main(argv: list[str]) -> int:
    import fxflow.passes
    from fxflow.passes import TRANSLATIONS

    fxflow.passes.load_all()
    args = build_parser(TRANSLATIONS).parse_args(normalize_argv(argv))
    if args.list_translations:
        sys.stdout.write(list_translations(TRANSLATIONS))
        return 0
    chosen = args.translation or []
    if len(chosen) != 1:
        names = ", ".join(f"--{n}" for n in sorted(TRANSLATIONS)) or "(none registered)"
        raise ToolError(f"choose exactly one translation ({names})" if chosen else
                        f"no translation chosen; use one of: {names}")
    fn = TRANSLATIONS[chosen[0]][1]

    def process(module, ctx, diags):
        text = fn(module)
        if not isinstance(text, str):
            raise ToolError(f"translation '{chosen[0]}' returned {type(text).__name__}, not text")
        return text

    return run_all(args, TOOL, process)


def main(argv: list[str] | None = None) -> int:
    return guarded_main(TOOL, lambda: _main(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
