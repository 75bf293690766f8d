"""Every input limit archcalc enforces, in one place (documented in docs/spec.md, "Limits").

Each guards against a small input that would otherwise hang, exhaust memory or print a
traceback: archcalc refuses it with one line naming the limit (exit 2). Values are generous
for real networks: the zoo's largest spec is about 6 kB, compiles to under 1,500 ops, has
nesting depth 6, at most 1,280 channels, kernels up to 7, strides up to 2 and repeats up
to 8; a hand-written spec that hits one of these is almost certainly a mistake. (Channels:
ImageNet-21k's 21,841 classes fit; closed forms enumerate the width breakpoints of each
scaled count, so `formula` and `fit` take time growing with c.)
"""
from __future__ import annotations

# -- spec files (spec/yamlio.py, spec/load.py) -------------------------------------------------
MAX_SPEC_BYTES = 1_000_000        # a spec file (at most this plus one byte is ever read)
SPEC_READ_SECONDS = 10            # waiting for a pipe or FIFO to deliver a spec
MAX_YAML_DEPTH = 64               # nesting of mappings and lists, counted while parsing
MAX_YAML_NODES = 200_000          # values after expanding YAML aliases (`*name`)
MAX_QUOTED_CHARS = 60             # characters of a value quoted in an error message
MAX_KEY_CHARS = 100               # characters of a key path shown in an error message

# -- numbers (numbers.py: spec values, --set, --width, --resolution, budgets) ------------------
MAX_NUMBER_CHARS = 40             # characters of one number written as text
MAX_EXPONENT = 30                 # |e| in 1e30 scientific notation

# -- the network (spec/values.py at load time, graph/compile.py at a point) --------------------
MAX_CHANNELS = 100_000            # any channel count: c, t * c, input channels, after --width
MAX_KERNEL = 1_000                # k, and an explicit padding
MAX_STRIDE = 1_000                # s
MAX_REPEATS = 1_000               # n, a row's repeats
MAX_WIDTH = 100                   # the width multiplier alpha (--width)
MAX_RESOLUTION = 100_000          # an input side in pixels (input.resolution, --resolution)
MAX_CELL_DEPTH = 1_000            # cells inside cells (node names grow with the depth)
MAX_GRAPH_OPS = 50_000            # primitive ops (and rows, cell instances) in one compiled graph

# -- design space and outputs (design/grid.py, design/steps.py, design/sweep.py, frontier) ----
MAX_GRID_AXIS = 10**6             # values on one axis of a grid (LO:HI:STEP); ~200 bytes each
MAX_SWEEP_POINTS = 10**8          # points of one sweep (widths x resolutions); larger: in chunks
MAX_GRID_POINTS = 10**7           # points of a grid held in memory (fit, frontier --width/--resolution)
MAX_BREAKPOINTS = 10_000          # breakpoints of the channel counts in a width interval (fit, formula)
MAX_POINTS_BYTES = 1_000_000      # a --points file (frontier), as a spec file

# -- torch backend and results database (torch/option_checks.py, torch/memory_check.py, --------
#    results_safety.py, results_pending.py) ----------------------------------------------------
MAX_BENCH_BATCH = 65_536          # bench --batch (the memory estimate below refuses sooner)
MAX_THREADS_PER_CORE = 4          # bench --threads <= this x os.cpu_count()
MAX_BENCH_SECONDS = 3_600         # bench --min-time, --max-time
MAX_WARMUP_SECONDS = 600          # bench --warmup
MAX_MICRO_SECONDS = 60            # bench --micro-time (each of three micro-benchmarks)
MIN_PRECISION = 1e-4              # bench --precision: the median's 95% CI within +-0.01% ...
MAX_PRECISION = 1                 # ... to +-100% of it
MAX_LAYER_RUNS = 1_000            # bench --layer-runs (profiled runs)
MEMORY_FRACTION = 0.8             # verify/bench refuse a run whose estimate exceeds this share
                                  # of the memory available (MemAvailable, cgroup, ulimit -v)
MAX_PENDING_BYTES = 50_000_000    # a bench result JSON file read by `results --import`
MAX_SHOWN_PROBLEM_CHARS = 200     # characters of an SQLite integrity report in an error
