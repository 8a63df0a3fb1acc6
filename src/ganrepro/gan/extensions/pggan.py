"""PGGAN's training-side mechanisms (Karras et al. 2018): the growth schedule and the drift term."""

from __future__ import annotations

from ganrepro.core.registry import Needs
from ganrepro.gan.extensions.base import EXTENSIONS, DBatch, Extension, Setup, Term
from ganrepro.gan.models.pggan import STAGES, growth


@EXTENSIONS.register("progressive", options={
    "grow_phase": "Karras 2018: 800k real images per fade and per stable phase (G updates here)",
}, rules=[Needs("architecture", ("pggan",), "it moves the growing nets' stage and fade α; other nets do not grow")])
class Progressive(Extension):
    """Progressive growing: after every G update, G's and D's (stage, α) ← ``growth(t, grow_phase)``
    with t the G updates so far (``models.pggan.growth``: stable, fade, stable, …, phases of
    ``grow_phase`` G updates; the paper: 800k real images per phase).

    The stage and α are a pure function of t; they live as buffers of G and D, so the resume state
    (G's and D's state_dict) and the checkpoint carry them, and this extension's own state is t.
    List it before ``ema`` in ``extensions`` so that G_ema copies the new stage at the same update.
    Logs ``grow_stage`` and ``grow_alpha`` as used by the iteration's D update.
    """

    log_fields = ("grow_stage", "grow_alpha")

    def __init__(self, setup: Setup):
        super().__init__(setup)
        for net in (setup.G, setup.D):
            if not hasattr(net, "set_progress"):
                raise ValueError("extension 'progressive' needs a growing architecture (pggan)")
        self.updates = 0
        self._apply()

    def _apply(self) -> None:
        stage, alpha = growth(self.updates, self.run["grow_phase"], STAGES)
        self.setup.G.set_progress(stage, alpha)
        self.setup.D.set_progress(stage, alpha)

    def d_term(self, batch: DBatch) -> Term:
        stage, alpha = self.setup.D.progress()
        return Term(None, {"grow_stage": stage, "grow_alpha": alpha})

    def after_g_step(self) -> None:
        self.updates += 1
        self._apply()

    def state_dict(self) -> dict:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.updates = state["updates"]
        self._apply()


@EXTENSIONS.register("drift", options={"drift_weight": "Karras 2018: ε_drift = 0.001"})
class Drift(Extension):
    """PGGAN's drift term (Karras 2018, appendix A.1): L_D += ε_drift·E_x[D(x)²] on real samples,
    ε_drift = ``drift_weight`` (0.001), which keeps a WGAN-GP critic's output near 0. Logs E[D(x)²]
    un-weighted as ``drift``."""

    log_fields = ("drift",)

    def d_term(self, batch: DBatch) -> Term:
        value = batch.logits_real.pow(2).mean()
        return Term(self.run["drift_weight"] * value, {"drift": value.detach()})
