"""Small helpers for the lesson notebooks: ``glue`` that also works where myst-nb is absent, and
``claim``, the check behind every number a page's prose states.

The website inserts measured numbers into the prose with myst-nb's ``glue`` role; Colab has no
myst-nb, so there ``glue`` just shows the value.
"""

from __future__ import annotations

import os
import sys
from typing import Any

STRICT_ENV = "LABKIT_STRICT_CLAIMS"


class ClaimError(AssertionError):
    """A statement of the page's prose does not hold for the outputs just computed."""


def strict_claims() -> bool:
    """True where a claim that fails must stop the notebook: the course's own builds and tests
    set ``LABKIT_STRICT_CLAIMS=1``; elsewhere (a learner's laptop, Colab) a failed claim is
    reported and the notebook goes on."""
    return os.environ.get(STRICT_ENV, "").lower() in ("1", "true", "yes")


def claim(condition: Any, statement: str = "") -> None:
    """Check a statement the page makes about the numbers just computed.

    Where the course is built and tested (``LABKIT_STRICT_CLAIMS=1``) a false claim raises
    ClaimError, so the page cannot show prose its outputs contradict. On a learner's machine
    the numbers can differ (another CPU or GPU, bf16 instead of fp32, other library versions),
    so a false claim prints a note saying which statement did not hold there and carries on.
    Returns None, so a cell that ends with a claim shows nothing.
    """
    if bool(condition):
        return
    text = statement or "a statement of this page"
    if strict_claims():
        raise ClaimError(f"The page says: {text}; the outputs just computed disagree.")
    print(
        f'Note: on this machine the page\'s statement "{text}" does not hold. The page was '
        "measured on a CPU with the quick profile; another device, precision or library "
        "version moves the numbers a little, and a statement about a small difference can "
        "turn. Compare your outputs with the page's.",
        file=sys.stderr,
    )


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
