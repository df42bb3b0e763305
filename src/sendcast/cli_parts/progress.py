"""Progress shown while a one-council command runs (budget, scenario run/compare, goal-seek).

Not a command part (it has no ``register``). The bar goes to stderr and disappears when the
command ends (``transient``), so printed tables and files are unchanged; where stderr is not a
terminal Rich draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Step = Callable[[str], None]


@contextmanager
def steps(total: int) -> Iterator[Step]:
    """Yield ``step(text)``: each call marks the previous step done and shows ``text`` as the
    one now running, on a bar of ``total`` steps (a call beyond ``total`` grows the bar)."""
    console = Console(stderr=True, highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as prog:
        task = prog.add_task("starting", total=total)
        calls = 0

        def step(text: str) -> None:
            nonlocal calls
            if calls:
                prog.advance(task)
            calls += 1
            if calls > total:
                prog.update(task, total=calls)
            prog.update(task, description=escape(text))

        yield step
        prog.update(task, completed=max(total, calls))
