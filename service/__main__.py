"""``python -m service`` runs the ``blueprint`` command line."""

from blueprint.service.cli import main

main()
