"""``python -m servey_faas``: the command line (see :mod:`servey_faas.cli.main`)."""

from servey_faas.cli.main import main

if __name__ == "__main__":
    main()
