"""The designer's closed forms: readable closed forms of the totals in alpha and r
(archcalc.design.formula, as `archcalc formula` prints them) and the idealised polynomials.

sympy can take seconds of CPU, so they are computed in a sandbox child (`compute_formulas`
runs there, dashboard/sandbox.py), never in the server, once per spec, convention, dtype and
parameter values (the Workspace's `formula_cache`).
"""
from __future__ import annotations

from pathlib import Path

import archcalc
from archcalc import limits as L

from ..bounded import Busy

FORMS_TIMEOUT_S = L.DASHBOARD_FORMS_CPU_S         # CPU time of one sandboxed closed form
MAX_FORM_CHARS = L.DASHBOARD_MAX_FORM_CHARS       # closed-form text shown


def formula_text(ws, source: str, convention="paper", dtype="fp32", sets=None) -> dict:
    """{"text": ..., "idealised": ...} or {"error": ...} (a busy server's error is not
    remembered); the text of a zoo file names the file, never the server's folders."""
    ws.check_dtype(dtype)
    sets = ws.filter_sets(source, sets)
    key = (ws.spec_key(source, sets, convention), dtype)
    found = ws.recall(ws.formula_cache, key)
    if found is not None:
        return found
    kind, _, ident = source.partition(":")
    try:
        if kind == "file":      # the browser sees the file's name, never the server's folders
            text, label = Path(ws.catalog.path(ident)).read_text(encoding="utf-8"), ident
        else:
            user = ws.user_spec(ident)
            text, label = user.text, f"<{user.filename}>"
        out = ws.children.call(("forms",) + key, lambda: ws.sandbox.run(
            "forms", {"text": text, "path": label, "sets": sets, "convention": convention,
                      "dtype": dtype}, timeout=FORMS_TIMEOUT_S))
        if not out.get("ok"):
            out = {"error": ws.scrub(out.get("message", "closed forms unavailable")),
                   "transient": bool(out.get("transient"))}
    except Busy as err:
        return {"error": str(err)}
    except archcalc.ArchcalcError as err:
        out = {"error": ws.scrub(str(err))}
    out = {k: v for k, v in out.items() if k != "ok"}
    for k in ("text", "idealised"):
        if k in out and len(out[k]) > MAX_FORM_CHARS:
            out[k] = out[k][:MAX_FORM_CHARS] + (f"\n... ({len(out[k]):,} characters; the whole "
                                                "text: archcalc formula SPEC)")
    if not out.pop("transient", False):
        ws.remember(ws.formula_cache, key, out)
    return out


def compute_formulas(spec, convention="paper", dtype="fp32", sets=None) -> dict:
    """Formula text of one spec (path or NetworkSpec): the design engine's readable forms.
    Runs in the sandbox child."""
    from archcalc.design import formula
    from archcalc.report.formula import render_formulas, render_idealised
    sets = dict(sets or {}) or None
    f = formula.formulas(spec, convention=convention, dtype=dtype, sets=sets)
    out = {"text": render_formulas(f)}
    try:
        out["idealised"] = render_idealised(
            formula.idealised(spec, convention=convention, dtype=dtype, sets=sets))
    except (archcalc.ArchcalcError, ValueError, TypeError) as err:   # idealised is a bonus
        out["idealised"] = f"(no idealised form: {err})"
    return out
