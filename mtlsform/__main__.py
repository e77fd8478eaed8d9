"""Allows `python -m mtlsform`."""

from mtlsform.cli.main import main

if __name__ == "__main__":
    main()
