"""Live coaching: audio sources, the streaming path, incremental warnings, sinks.

The same stages as ``phonecoach score``; only the way audio arrives differs.
"""
