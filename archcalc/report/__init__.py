"""Render CostTables: terminal table, markdown, CSV and JSON (pure: data in, text out)."""
from .render import render, FORMATS
from .units import human_bytes, human_count

__all__ = ["render", "FORMATS", "human_count", "human_bytes"]
