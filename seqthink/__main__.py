"""``python -m seqthink``: the ``seqthink`` command (see :mod:`seqthink.cli`)."""

from seqthink.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
