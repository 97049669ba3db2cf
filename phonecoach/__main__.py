"""``python -m phonecoach``: the same as the ``phonecoach`` command."""
from .cli import main

main()
