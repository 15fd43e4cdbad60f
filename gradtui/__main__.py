"""``python -m gradtui``: the same command line as the ``gradtui`` console script."""

from gradtui.tui.cli import run

if __name__ == "__main__":
    run()
