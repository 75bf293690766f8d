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

# -- torch backend and results database (torch/option_checks.py, torch/memory_check.py, --------
#    results_safety.py, results_pending.py) ----------------------------------------------------
MAX_BENCH_BATCH = 65_536          # bench --batch (the memory estimate below refuses sooner)
MAX_THREADS_PER_CORE = 4          # bench --threads <= this x os.cpu_count()
MAX_BENCH_SECONDS = 3_600         # bench --min-time, --max-time
MAX_WARMUP_SECONDS = 600          # bench --warmup
MAX_MICRO_SECONDS = 60            # bench --micro-time (each of three micro-benchmarks)
MIN_PRECISION = 1e-4              # bench --precision: the median's 95% CI within +-0.01% ...
MAX_PRECISION = 1.0               # ... to +-100% of it
MAX_LAYER_RUNS = 1_000            # bench --layer-runs (profiled runs)
MEMORY_FRACTION = 0.8             # verify/bench refuse a run whose estimate exceeds this share
                                  # of the memory available (MemAvailable, cgroup, ulimit -v)
MAX_PENDING_BYTES = 50_000_000    # a bench result JSON file read by `results --import`
MAX_SHOWN_PROBLEM_CHARS = 200     # characters of an SQLite integrity report in an error
