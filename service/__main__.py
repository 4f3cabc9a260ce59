"""``python -m service`` runs the ``blueprint`` command line."""

from service.cli import main

main()
