"""Small helpers for the lesson notebooks: ``glue`` that also works where myst-nb is absent.

The website inserts measured numbers into the prose with myst-nb's ``glue`` role; Colab has no
myst-nb, so there ``glue`` just shows the value.
"""

from __future__ import annotations

from typing import Any


def glue(name: str, value: Any, display: bool = False) -> None:
    """Store ``value`` under ``name`` for the page's ``{glue:}`` roles.

    ``display=False`` (the default here) keeps the value out of the cell's visible output.
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalars: store 0.87, not "np.float64(0.87)"
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # Colab and plain Jupyter without myst-nb
        if display:
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)
