"""Vitis HLS backend: `df.graph` -> bit-exact ap_fixed C++ project (firmware, testbench, build scripts).

    emit_cpp(module) -> str                      all C++ of the project (fxflow-translate --emit-hls-cpp)
    write_project(module, out_dir, ...) -> Path  the complete project directory
"""

from .design import HlsDesign  # noqa: F401
from .lower import lower_graph  # noqa: F401
from .emit_cpp import emit_cpp, render_cpp  # noqa: F401  (registers the emit-hls-cpp translation)
from .project import render_project, write_project  # noqa: F401
