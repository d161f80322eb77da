"""Normalizing flows over vectors, from zuko (Rozet et al.): RealNVP (affine
coupling; Dinh et al., ICLR 2017) and MAF (masked autoregressive; Papamakarios et
al., NeurIPS 2017; its inverse is IAF, Kingma et al., NeurIPS 2016).

For an invertible f with z = f(x) ~ N(0, I),

    log p(x) = log N(f(x); 0, I) + log |det J_f(x)|

:class:`VectorFlow` wraps one zuko flow with a frozen config so that it saves and
loads like every model here (safetensors, architecture checked before loading).
``transform()`` is the map x -> z (with ``.inv`` and ``.log_abs_det_jacobian``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

FLOW_TYPES = ("realnvp", "maf")


@dataclass(frozen=True)
class VectorFlowConfig:
    flow: str = "realnvp"  #: realnvp (coupling) or maf (autoregressive)
    features: int = 2  #: dimension of x
    context: int = 0  #: dimension of a conditioning vector (0: unconditional)
    transforms: int = 6  #: coupling / autoregressive layers
    hidden: int = 64  #: width of the two hidden layers of each layer's network


class VectorFlow(nn.Module):
    kind = "vector-flow"

    def __init__(self, config: VectorFlowConfig = VectorFlowConfig()):
        super().__init__()
        import zuko

        self.config = c = config
        if c.flow not in FLOW_TYPES:
            raise ValueError(f"unknown flow {c.flow!r}; use one of {', '.join(FLOW_TYPES)}")
        make = zuko.flows.RealNVP if c.flow == "realnvp" else zuko.flows.MAF
        self.flow = make(
            features=c.features,
            context=c.context,
            transforms=c.transforms,
            hidden_features=(c.hidden, c.hidden),
        )

    def config_dict(self) -> dict:
        return asdict(self.config)

    def distribution(self, context: torch.Tensor | None = None):
        return self.flow(context)

    def log_prob(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        return self.flow(context).log_prob(x)

    def transform(self, context: torch.Tensor | None = None):
        """The bijection x -> z of this flow (zuko transform)."""
        return self.flow(context).transform

    @torch.no_grad()
    def sample(self, n: int, context: torch.Tensor | None = None, seed: int = 0) -> torch.Tensor:
        torch.manual_seed(int(seed))  # zuko samples with the global generator
        return self.flow(context).sample((int(n),))


def fit(
    flow: VectorFlow,
    data: torch.Tensor,
    steps: int = 2000,
    batch: int = 256,
    lr: float = 3e-3,
    seed: int = 0,
    context: torch.Tensor | None = None,
):
    """Maximum-likelihood training on ``data`` ``(N, features)``; a job that yields
    ``(step, mean negative log-likelihood)`` every 100 steps."""
    g = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(flow.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=lr / 30)
    flow.train()
    for step in range(1, steps + 1):
        idx = torch.randint(len(data), (min(batch, len(data)),), generator=g)
        nll = -flow.log_prob(data[idx], None if context is None else context[idx]).mean()
        opt.zero_grad(set_to_none=True)
        nll.backward()
        opt.step()
        schedule.step()
        if step % 100 == 0 or step == steps:
            yield step, float(nll.detach())
    flow.eval()
