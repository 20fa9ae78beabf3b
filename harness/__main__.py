"""``python -m harness``: the same CLI as the ``harness`` console script, for environments without scripts."""

from harness.cli import main

if __name__ == "__main__":
    main()
