"""`python -m archcalc ...` is the `archcalc` command."""
import sys

from .cli import main

sys.exit(main())
