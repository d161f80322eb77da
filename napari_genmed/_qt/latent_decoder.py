"""Decoding latents while a slider moves: a long-lived worker fed by a latest-wins
mailbox (:class:`~.mailbox.LatestOnly`).

Slider events come far faster than a decode; every move is ``put`` and the worker
serves the newest one, so stale requests are dropped and the last is always shown.
A move that a newer one already supersedes is decoded without its surface and
biometry (marching cubes costs about a decode); the last of a drag always gets them.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.tasks.latent import latent_reconstruction
from .jobs import abandon, start_job
from .mailbox import LatestOnly

POLL_S = 0.05  #: the worker checks for cancellation this often when idle


def decode_loop(mailbox: LatestOnly):
    """Worker body: serve the newest request until cancelled; yields ``None`` when
    idle (so Cancel is honoured) and ``(serial, reconstruction, complete)`` per
    decode (complete: with surface and biometry)."""
    while True:
        request = mailbox.take(POLL_S)
        if request is None:
            yield None
            continue
        serial, model, z, condition, views_used, threshold, truth = request
        complete = not mailbox.pending  # the last of a drag finds nothing newer waiting
        result = latent_reconstruction(
            model,
            z,
            condition,
            views_used,
            threshold,
            truth,
            with_surface=complete,
            with_measurements=complete,
        )
        yield serial, result, complete


class LatentDecoder:
    """Requests in, reconstructions out: ``on_decoded(result, complete)`` is called on
    the GUI thread for every decode newer than the one on screen."""

    def __init__(self, on_decoded: Callable):
        self.on_decoded = on_decoded
        self.mailbox = LatestOnly()
        self.loop = None  #: the decoding worker
        self.serial = 0  #: requests made
        self.shown = 0  #: serial of the latent on screen
        self.decodes = 0  #: decodes delivered

    def request(self, model, z, condition, views_used, threshold: float, truth) -> None:
        self.serial += 1
        self.mailbox.put((self.serial, model, z, condition, views_used, float(threshold), truth))
        self.start()

    def start(self) -> None:
        if self.loop is None:
            self.loop = start_job(
                decode_loop,
                self.mailbox,
                what="Latent decoding",
                on_result=lambda _: None,
                on_finished=self._finished,
                on_progress=self._delivered,
                progress=False,
            )

    def supersede(self) -> None:
        """What is on screen is newer than any decode in flight (a new reconstruction)."""
        self.serial += 1
        self.shown = self.serial

    def _finished(self):
        self.loop = None

    def _delivered(self, item):
        if item is None:
            return
        serial, result, complete = item
        if serial < self.shown:
            return  # older than what is on screen
        self.decodes += 1
        self.shown = serial
        self.on_decoded(result, complete)

    @property
    def idle(self) -> bool:
        """Nothing waiting and the newest request on screen."""
        return not self.mailbox.pending and self.shown == self.serial

    def close(self) -> None:
        abandon(self.loop)
