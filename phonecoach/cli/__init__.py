"""The ``phonecoach`` command: score, live, devices, models and rules (main), batch, summary,
export and calibrate (archive), report (pages and dashboard), floor."""

from .main import main

__all__ = ["main"]
