"""gradtui: a terminal gradient explorer for PyTorch.

The repository keeps the engine in ``ops/`` and the app in ``tui/``; installed, they are
:mod:`gradtui.ops` and :mod:`gradtui.tui` (``pyproject.toml`` maps those folders under this
package), so gradtui claims no import name but its own.
"""
