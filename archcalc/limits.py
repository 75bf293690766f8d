"""Every input limit archcalc enforces, in one place (documented in docs/spec.md, "Limits").

Each guards against a small input that would otherwise hang, exhaust memory or print a
traceback: archcalc refuses it with one line naming the limit (exit 2). Values are generous
for real networks: the zoo's largest spec is about 6 kB, compiles to under 1,000 ops and has
nesting depth 6; a hand-written spec that hits one of these is almost certainly a mistake.
"""
from __future__ import annotations

# -- spec files (spec/yamlio.py, spec/load.py) -------------------------------------------------
MAX_SPEC_BYTES = 1_000_000        # a spec file (at most this plus one byte is ever read)
MAX_YAML_DEPTH = 64               # nesting of mappings and lists, counted while parsing
MAX_YAML_NODES = 200_000          # values after expanding YAML aliases (`*name`)
MAX_QUOTED_CHARS = 60             # characters of a value quoted in an error message

# -- numbers (numbers.py: spec values, --set, --width, --resolution, budgets) ------------------
MAX_NUMBER_CHARS = 40             # characters of one number written as text
MAX_EXPONENT = 30                 # |e| in 1e30 scientific notation
