"""fxflow's command-line tools for compiler engineers: `fxflow-opt` (opt.py), `fxflow-translate`
(translate.py), the IRDL printer (irdl.py), and their shared driver code (common.py)."""
