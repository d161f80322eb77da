"""Typed progress of long jobs.

Long jobs in the core are generators that yield :class:`Progress` and return their
result (``StopIteration.value``). The Qt layer wraps them in napari generator
workers, so a job can be cancelled at every yield and the GUI thread only receives
finished results; scripts drive them with :func:`run`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Progress:
    step: int  #: steps done
    total: int  #: steps in all
    message: str = ""
    partial: Any = None  #: an intermediate result worth showing, if any

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 1.0


Job = Generator[Progress, None, T]


def run(job: Job[T], on_progress: Callable[[Progress], None] | None = None) -> T:
    """Drive a job to its end and return its result."""
    while True:
        try:
            p = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(p)
