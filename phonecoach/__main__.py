"""``python -m phonecoach``: the same as the ``phonecoach`` command."""
from .cli.main import main

main()
