"""phonecoach: an offline coach for call-center telephone etiquette."""

__version__ = "0.1.0"
