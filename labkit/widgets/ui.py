"""The thin ipywidgets layer of the explorers: controls wired to precomputed HTML panels.

See :mod:`labkit.widgets` for why there are two modes ("stack" and "observe"). Every explorer is
built from :class:`Panels`: a list of *static* controls (each with an ``index`` trait:
SelectionSlider, ToggleButtons, Dropdown) whose every combination has a precomputed panel, and a
``render(indices)`` function that returns the panel's HTML. *Live* controls (cost fields,
sequence length, ...) call :meth:`Panels.refresh`, which re-renders the panels; that needs a
running kernel.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

MODES = ("auto", "stack", "observe")


def ipywidgets() -> Any:
    try:
        import ipywidgets as widgets
    except ImportError as error:  # pragma: no cover - ipywidgets is a dependency of labkit
        raise ImportError("The explorers need ipywidgets: pip install ipywidgets") from error
    return widgets


def choose_mode(mode: str = "auto", widgets: Any = None) -> str:
    """``"stack"`` where ipywidgets has ``Stack`` (8.x), else ``"observe"`` (Colab's 7.7)."""
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: use one of {list(MODES)}")
    widgets = widgets or ipywidgets()
    has_stack = hasattr(widgets, "Stack")
    if mode == "stack" and not has_stack:
        raise ValueError(f"mode='stack' needs ipywidgets 8 (this is {widgets.__version__})")
    if mode == "auto":
        return "stack" if has_stack else "observe"
    return mode


def _shared_html_factory(widgets: Any) -> Callable[[str], Any]:
    """HTML widgets that share one Layout and (ipywidgets 8) one HTMLStyle: the saved widget
    state then holds one layout and one style model instead of one per panel."""
    layout = widgets.Layout()
    style = None
    try:
        from ipywidgets.widgets.widget_string import HTMLStyle

        style = HTMLStyle()
    except ImportError:  # ipywidgets 7: HTML has a DescriptionStyle; not worth sharing
        pass

    def make(value: str) -> Any:
        if style is not None:
            return widgets.HTML(value=value, layout=layout, style=style)
        return widgets.HTML(value=value, layout=layout)

    return make


class Panels:
    """Precomputed panels selected by static controls (see the module docstring)."""

    def __init__(
        self,
        controls: Sequence[Any],
        sizes: Sequence[int],
        render: Callable[[tuple[int, ...]], str],
        mode: str = "auto",
    ) -> None:
        self.widgets = ipywidgets()
        self.mode = choose_mode(mode, self.widgets)
        self.controls = list(controls)
        self.sizes = list(sizes)
        self.render = render
        self.links: list[Any] = []
        self.leaves: dict[tuple[int, ...], Any] = {}
        if self.mode == "stack":
            make = _shared_html_factory(self.widgets)
            self.view = self._stack((), make)
        else:
            self.view = self.widgets.HTML(value=render(self.indices()))
            for control in self.controls:
                control.observe(self._on_change, names="index")

    # --- stack mode: nested Stacks, one level per control, linked in the browser ----------
    def _stack(self, prefix: tuple[int, ...], make: Callable[[str], Any]) -> Any:
        level = len(prefix)
        if level == len(self.controls):
            leaf = make(self.render(prefix))
            self.leaves[prefix] = leaf
            return leaf
        children = [self._stack((*prefix, i), make) for i in range(self.sizes[level])]
        control = self.controls[level]
        stack = self.widgets.Stack(children=children, selected_index=control.index or 0)
        self.links.append(self.widgets.jsdlink((control, "index"), (stack, "selected_index")))
        return stack

    # --- observe mode: one HTML widget, re-rendered by the kernel ---------------------------
    def _on_change(self, _change: Any = None) -> None:
        self.view.value = self.render(self.indices())

    def indices(self) -> tuple[int, ...]:
        return tuple(int(c.index or 0) for c in self.controls)

    def refresh(self, _change: Any = None) -> None:
        """Re-render every panel (a live control changed); needs a running kernel."""
        if self.mode == "stack":
            for key in itertools.product(*(range(n) for n in self.sizes)):
                self.leaves[key].value = self.render(key)
        else:
            self._on_change()

    def shown(self) -> str:
        """The HTML the reader sees for the controls' current values.

        In stack mode the browser does the selecting (``jsdlink``); this follows the same
        indices on the Python side, so tests and scripts can read what is on screen.
        """
        if self.mode == "stack":
            return self.leaves[self.indices()].value
        return self.view.value


class Explorer:
    """What an explorer function returns: displays as its widget; ``controls`` by name;
    ``shown()`` is the HTML on screen for the controls' current values."""

    def __init__(self, widget: Any, controls: dict[str, Any], panels: Panels, **extra: Any):
        self.widget = widget
        self.controls = controls
        self.panels = panels
        self.mode = panels.mode
        for name, value in extra.items():
            setattr(self, name, value)

    def shown(self) -> str:
        return self.panels.shown()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"<labkit explorer ({self.mode} mode): controls {list(self.controls)}>"
