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
MAX_RANK = 8                      # sizes of a fixed `shape:` (view, copy, param rows); axes
MAX_SHAPE_SIZE = 10**9            # one size of a fixed `shape:`
MAX_OPERANDS = 64                 # tensors one `of:` names (add, mul, concat, ... rows)

# -- design space and outputs (design/grid.py, design/steps.py, design/sweep.py, frontier) ----
MAX_INFERENCE_SCALES = 64         # scales of a spec's multiscale: section (x2 passes with flip)
MAX_GRID_AXIS = 10**6             # values on one axis of a grid (LO:HI:STEP); ~200 bytes each
MAX_SWEEP_POINTS = 10**8          # points of one sweep (widths x resolutions); larger: in chunks
MAX_GRID_POINTS = 10**7           # points of a grid held in memory (fit, frontier --width/--resolution)
MAX_BREAKPOINTS = 10_000          # breakpoints of the channel counts in a width interval (fit, formula)
MAX_POINTS_BYTES = 1_000_000      # a --points file (frontier), as a spec file

# -- torch backend and results database (torch_backend/option_checks.py, torch_backend/memory_check.py,
#    results/safety.py, results/pending.py) ----------------------------------------------------
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

# -- the dashboard (dashboard/: one server shared by every browser that reaches it) ------------
# Sizes of pasted specs and of what their check may cost (dashboard/sandbox.py runs the check
# in a child process: parse, compile and cost at the spec's default point).
DASHBOARD_MAX_SPEC_BYTES = 100_000      # pasted or uploaded spec text (the zoo's largest: ~6 kB)
DASHBOARD_MAX_UPLOAD_BYTES = 1_000_000  # what the browser may send at all (before decoding)
DASHBOARD_MAX_GRAPH_OPS = 4_000         # ops of a checked spec's compiled graph (NASNet-A: 907)
DASHBOARD_MAX_COMPILE_CPU_S = 1         # CPU seconds a checked spec may take to compile + cost
DASHBOARD_MAX_PARAM_CHARS = 40          # characters of one parameter value from the browser
# Sandbox children (dashboard/sandbox.py): each is capped; only so many run at once.
DASHBOARD_CHECK_CPU_S = 8               # CPU time of one check (RLIMIT_CPU)
DASHBOARD_FORMS_CPU_S = 30              # CPU time of one closed-form computation (RLIMIT_CPU)
DASHBOARD_WALL_FACTOR = 4               # wall-time backstop: CPU limit x 4 + 10 s (busy machines)
DASHBOARD_CHILD_MEMORY_BYTES = 256 * 1024**2   # address space of one child (RLIMIT_AS)
DASHBOARD_CHILD_NICE = 10               # children yield the CPU to the server's requests
DASHBOARD_MAX_CHILDREN = 2              # sandbox children at once
DASHBOARD_CHILD_QUEUE = 8               # sandbox jobs waiting beyond those; more: "busy"
# Heavy work inside the server (lambdify, closed forms of the frontier, costing a point that is
# not memoised) runs on a fixed pool of threads; requests beyond its queue answer "busy".
DASHBOARD_WORKERS = 2                   # threads of the pool
DASHBOARD_WORK_QUEUE = 16               # jobs waiting for them; more: "busy, try again"
DASHBOARD_MAX_WAIT_S = 300              # a request gives up waiting for its job after this
DASHBOARD_ADMIT_WAIT_S = 2              # a job finding the queue full waits this for a place
DASHBOARD_MAX_CONNECTIONS = 64          # HTTP connections served at once; more: 503
DASHBOARD_IDLE_CONNECTION_S = 30        # an idle (keep-alive) connection is closed after this
# Caches (least recently used dropped first).
DASHBOARD_CACHE_SPECS = 256             # parsed specs (spec x parameter values x convention)
DASHBOARD_CACHE_TABLES = 512            # cost tables at a point ...
DASHBOARD_CACHE_TABLE_ROWS = 200_000    # ... holding at most this many rows together (~70 MB)
DASHBOARD_CACHE_EVALUATORS = 32         # lambdified per-layer evaluators (zoo specs only)
DASHBOARD_CACHE_FORMS = 48              # compiled closed forms (the frontier's)
DASHBOARD_CACHE_FORMULA_TEXT = 48       # closed-form text shown in the designer
DASHBOARD_CACHE_CHECKS = 512            # outcomes of sandbox checks
DASHBOARD_MAX_USER_SPECS = 32           # pasted specs kept in memory
DASHBOARD_MAX_FORM_CHARS = 30_000       # closed-form text shown
DASHBOARD_MAX_SPACE_BYTES = 2_000_000   # an uploaded space Parquet file (decoded; fits a request)
DASHBOARD_MAX_SPACE_ROWS = 100_000      # its rows (from the footer, before any column is read)
DASHBOARD_MAX_SPACE_POINTS = 5_000      # architectures drawn off the front (evenly spaced)

# -- the Python API --------------------------------------------------------------------------
EVALUATE_CACHE_SPECS = 16         # specs archcalc.evaluate keeps compiled (least recently used out)

# -- search spaces (spaces/: `archcalc space`) --------------------------------------------------
MAX_SPACE_SIZE = 10**18           # architectures of a space (choices x grid): indices are int64
MAX_SPACE_GRID_POINTS = 1_000     # --widths x --resolutions points (each costs its own stage tables)
MAX_STAGE_COMPILES = 100_000      # stage compiles for the tables; beyond: each architecture compiled
MAX_SPACE_COMPILED = 100_000      # architectures compiled one by one (a space that does not decompose)
MAX_SPACE_SAMPLE = 10_000_000     # --sample N (the sampled indices are held, 8 bytes each)
MAX_SPACE_OUTPUT_ROWS = 100_000_000   # rows written to a --out dataset
MAX_SPACE_PARTITIONS = 100_000    # --partitions, and the partitions of one run
MAX_SPACE_WORKERS_PER_CORE = 4    # --workers <= this x the logical cores
MAX_FRONT_POINTS = 1_000_000      # points of a Pareto front (partial or merged)
SPACE_CONNECT_SECONDS = 30        # waiting for --scheduler ADDRESS to answer
