"""Print the IRDL of fxflow's dialects, for `torch-mlir-opt --irdl-file=<file>` (an independent parser).

    python -m fxflow.tools.irdl -o fxflow.irdl.mlir
    torch-mlir-opt --irdl-file=fxflow.irdl.mlir design.mlir
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="fxflow-irdl", description="Print the IRDL definition of the fxp and df dialects.")
    p.add_argument("-o", dest="output", default="-", metavar="FILE", help="output file ('-' for stdout)")
    args = p.parse_args(argv)

    from fxflow.dialects import irdl_text
    from fxflow.dialects import new_context

    with new_context():  # loading the dialects builds their IRDL modules
        text = irdl_text()
    if not text.endswith("\n"):
        text += "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as e:
            print(f"fxflow-irdl: error: could not write '{args.output}': {e.strerror or e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
