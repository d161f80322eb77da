"""Training of the view generators (mental maps, plain and GAN), as a job.

Every step draws, for each scene of the batch, a query slice (any of its standard
or oblique planes) and 0-3 observed slices among the others, in random order; the
target is the query's speckle-free image. The GAN variant alternates a PatchGAN
discriminator step (hinge loss) with the generator step (reconstruction + the
adversarial term, optionally discriminator feature matching, both ramped up over
the first steps; spectral norm keeps the discriminator from winning outright).
Validation after every epoch: SSIM / NCC of the point estimate
from the axial slice alone, over all the other slices of the validation scenes.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..progress import Job, Progress


@dataclass(frozen=True)
class ViewTrainConfig:
    kind: str = "mental-map"  #: mental-map, mental-map-gan or mental-map-anatomy
    model: dict = field(default_factory=dict)  #: overrides of MentalMapConfig
    train_size: int = 1500  #: scenes (heads) in the training split
    val_size: int = 32
    epochs: int = 12
    batch_size: int = 16
    lr: float = 1e-3
    min_lr: float = 2e-5
    d_lr: float = 2e-4  #: discriminator (GAN variant)
    #: GAN variant: spectral norm in the discriminator; the plain one wins outright
    #: on the wide prior within 375 steps (hinge loss 2.0 -> 0.04), then teaches nothing
    d_spectral_norm: bool = False
    #: GAN variant: weight of discriminator feature matching (0: none); it pulls the
    #: generator towards the real plane's texture statistics even when D is ahead
    fm_weight: float = 0.0
    #: GAN variant: the adversarial and feature-matching weights ramp up linearly over
    #: these steps, so the first steps of a fine-tune do not throw the VAE's estimate off
    adv_warmup_steps: int = 0
    max_observations: int = 3
    seed: int = 0
    cache_dir: str | None = None
    #: shape families of the scenes' heads (sim/families; held-out ones are refused)
    families: tuple[str, ...] = ("phantom",)
    #: scenes whose B-mode images come from drawn scanner settings and overlays
    #: (:func:`~..data.dataset.scan_acquisition`; the truth stays the default rendering),
    #: for this share of the heads: the reconstruction models' appearances
    vary_acquisition: bool = False
    varied_share: float = 1.0
    #: share of observed slices given a grey-level augmentation (gamma, smoothing or
    #: sharpening, a monotone grey map: :func:`~.augment.intensity_augment`): a display
    #: chain's curves and filters, which no drawn acquisition setting makes
    intensity_aug_p: float = 0.0
    init_from: str | None = None  #: start from these generator weights (e.g. the GAN from the VAE)
    #: anatomy generator: each label's cross-entropy weighted by its frequency in the
    #: training planes to this power, negated (0: plain; 0.5: a label 100 times rarer
    #: counts 10 times more), normalised to a mean weight of 1 per pixel. Plain
    #: cross-entropy from the start lets the rare fluid labels (ventricles, CSP: under
    #: 1% of pixels) vanish from the argmax (session 28)
    class_balance: float = 0.0
    max_steps: int | None = None

    @classmethod
    def from_dict(cls, d: dict) -> ViewTrainConfig:
        from .settings import settings_from_dict

        return settings_from_dict(cls, d)


def make_batch(
    items: list[dict],
    rng: np.random.Generator,
    max_obs: int,
    query: list[int] | None = None,
    observed: list[list[int]] | None = None,
) -> dict:
    """Tensors of one batch (random queries and observation sets unless given)."""
    import torch

    b = len(items)
    n_slices = items[0]["clean"].shape[0]
    size = items[0]["clean"].shape[-1]
    images = np.zeros((b, max_obs, size, size), np.float32)
    poses = np.zeros((b, max_obs, items[0]["features"].shape[-1]), np.float32)
    mask = np.zeros((b, max_obs), np.float32)
    qf, target, qs = [], [], []
    for i, it in enumerate(items):
        q = int(rng.integers(n_slices)) if query is None else query[i]
        qs.append(q)
        if observed is None:
            others = [k for k in range(n_slices) if k != q]
            obs = list(
                rng.permutation(others)[: int(rng.integers(0, min(max_obs, len(others)) + 1))]
            )
        else:
            obs = observed[i]
        for j, k in enumerate(obs):
            images[i, j], poses[i, j], mask[i, j] = it["speckled"][k], it["features"][k], 1.0
        qf.append(it["features"][q])
        target.append(it["clean"][q])
    return {
        "images": torch.as_tensor(images),
        "poses": torch.as_tensor(poses),
        "mask": torch.as_tensor(mask),
        "query": torch.as_tensor(np.stack(qf)),
        "target": torch.as_tensor(np.stack(target)),
    } | (
        {"labels": torch.as_tensor(np.stack([it["plane_labels"][q] for it, q in zip(items, qs)]))}
        if "plane_labels" in items[0]
        else {}
    )


def validate(model, scenes, max_obs: int) -> dict[str, float]:
    """Point estimate from the axial slice alone, for every other slice: SSIM / NCC /
    PSNR against the speckle-free truth, and ``hf_ratio``, the high-frequency energy
    over the speckled truth's inside the fan (the clean truth above 0.02; realism: a
    scanner's is 1), which the GAN's settings are chosen by."""
    import torch

    from ..metrics.similarity import similarity
    from ..metrics.structure import hf_energy

    model.eval()
    rows, hf = [], []
    with torch.no_grad():
        for i in range(len(scenes)):
            it = scenes[i]
            n = it["clean"].shape[0]
            queries = list(range(1, n))
            batch = make_batch(
                [it] * len(queries),
                np.random.default_rng(0),
                max_obs,
                queries,
                [[0]] * len(queries),
            )
            gen, _ = model.generate(batch["images"], batch["poses"], batch["mask"], batch["query"])
            rows += [similarity(g, t) for g, t in zip(gen.numpy(), batch["target"].numpy())]
            for g, q in zip(gen.numpy(), queries):
                fan = it["clean"][q] > 0.02
                true_hf = hf_energy(it["speckled"][q], fan)
                hf += [hf_energy(g, fan) / true_hf] if true_hf > 0 else []
    model.train()
    out = {k: float(np.mean([r[k] for r in rows])) for k in ("ssim", "ncc", "psnr")}
    return out | {"hf_ratio": float(np.mean(hf)) if hf else float("nan")}


def train_views_job(cfg: ViewTrainConfig, out_dir, device: str = "cpu") -> Job[dict]:
    import torch

    from ..data.dataset import DatasetConfig
    from ..data.scenes import SceneDataset, label_planes
    from ..io.checkpoint import load_checkpoint, save_checkpoint
    from ..nets.discriminator import PatchDiscriminator, feature_matching
    from ..nets.registry import VIEW_GENERATOR_KINDS, build_model
    from .augment import intensity_augment

    if cfg.kind not in VIEW_GENERATOR_KINDS:
        raise ValueError(
            f"{cfg.kind!r} is not a view generator; use one of {', '.join(VIEW_GENERATOR_KINDS)}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build_model(cfg.kind, cfg.model).to(device)
    if cfg.init_from:
        loaded, _ = load_checkpoint(cfg.init_from)
        state = loaded.state_dict()
        if model.config.classes != loaded.config.classes:  # a new output layer: its own start
            state = {k: v for k, v in state.items() if not k.startswith("out.")}
            state |= {k: v for k, v in model.state_dict().items() if k.startswith("out.")}
        model.load_state_dict(state)
    gan = model.config.adv_weight > 0
    disc = PatchDiscriminator(spectral_norm=cfg.d_spectral_norm).to(device) if gan else None
    data = DatasetConfig(
        families=tuple(cfg.families),
        vary_acquisition=cfg.vary_acquisition,
        varied_share=cfg.varied_share,
    )
    aug_rng = torch.Generator().manual_seed(cfg.seed + 1)  # a stream of its own
    train, val = (
        SceneDataset("train", cfg.train_size, cfg.cache_dir, data),
        SceneDataset("val", cfg.val_size, cfg.cache_dir, data),
    )
    planes = label_planes(train) if model.config.classes else None  # the anatomy's targets
    weights = None
    if planes is not None and cfg.class_balance:
        freq = np.bincount(planes.ravel(), minlength=model.config.classes) / planes.size
        w = np.where(freq > 0, np.maximum(freq, 1e-6) ** -cfg.class_balance, 0.0)
        weights = torch.as_tensor(w / (w * freq).sum(), dtype=torch.float32, device=device)

    def item(i: int) -> dict:
        return train[i] if planes is None else train[i] | {"plane_labels": planes[i]}

    opt = torch.optim.Adam(
        model.parameters(), lr=cfg.lr, betas=(0.5, 0.999) if gan else (0.9, 0.999)
    )
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.d_lr, betas=(0.5, 0.999)) if gan else None
    steps_per_epoch = max(1, len(train) // cfg.batch_size)
    total = (
        cfg.epochs * steps_per_epoch
        if not cfg.max_steps
        else min(cfg.max_steps, cfg.epochs * steps_per_epoch)
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(total, 1), eta_min=cfg.min_lr)
    recipe = asdict(cfg) | {"device": device, "torch": torch.__version__}
    history, step, best, t0 = [], 0, -1.0, time.perf_counter()
    for epoch in range(cfg.epochs):
        order = rng.permutation(len(train))
        losses, d_losses = [], []
        for b in range(steps_per_epoch):
            if cfg.max_steps and step >= cfg.max_steps:
                break
            batch = {
                k: v.to(device)
                for k, v in make_batch(
                    [item(int(i)) for i in order[b * cfg.batch_size : (b + 1) * cfg.batch_size]],
                    rng,
                    cfg.max_observations,
                ).items()
            }
            batch["images"] = intensity_augment(batch["images"], cfg.intensity_aug_p, aug_rng)
            if weights is not None:
                batch["class_weights"] = weights
            result = model.training_loss(batch)
            loss = result["loss"]
            if gan:
                fake = torch.sigmoid(result["logits"])
                real_scores = disc(batch["target"][:, None], batch["query"])
                fake_scores = disc(fake.detach(), batch["query"])
                d_loss = torch.relu(1.0 - real_scores).mean() + torch.relu(1.0 + fake_scores).mean()
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
                ramp = min(1.0, (step + 1) / cfg.adv_warmup_steps) if cfg.adv_warmup_steps else 1.0
                scores, fake_feats = disc(fake, batch["query"], features=True)
                adv = -scores.mean()
                loss = loss + ramp * model.config.adv_weight * adv
                result = result | {
                    "d_loss": d_loss.detach(),
                    "adv": adv.detach(),
                    "d_margin": (real_scores.mean() - fake_scores.mean()).detach(),
                    "ramp": torch.tensor(ramp),
                }
                if cfg.fm_weight:
                    with torch.no_grad():
                        _, real_feats = disc(
                            batch["target"][:, None], batch["query"], features=True
                        )
                    fm = feature_matching(real_feats, fake_feats)
                    loss = loss + ramp * cfg.fm_weight * fm
                    result = result | {"fm": fm.detach()}
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            schedule.step()
            step += 1
            scalars = {k: float(v.detach()) for k, v in result.items() if k != "logits"}
            losses.append(scalars["loss"])
            d_losses += [scalars["d_loss"]] if "d_loss" in scalars else []
            yield Progress(step, total, f"{cfg.kind} epoch {epoch + 1}/{cfg.epochs}", scalars)
        metrics = validate(model, val, cfg.max_observations) | {"epoch": epoch + 1, "step": step}
        history.append(
            metrics
            | {"loss": float(np.mean(losses)) if losses else None}
            | ({"d_loss": float(np.mean(d_losses))} if d_losses else {})
        )
        save_checkpoint(out / "last.safetensors", model, recipe, metrics)
        if (
            metrics["ssim"] > best or gan
        ):  # the GAN keeps its last epoch: SSIM favours blur, the point of the GAN is texture
            best = max(best, metrics["ssim"])
            save_checkpoint(
                out / "model.safetensors",
                model,
                recipe | {"seconds": time.perf_counter() - t0},
                metrics,
            )
        (out / "history.json").write_text(json.dumps(history, indent=2))
        yield Progress(
            step,
            total,
            f"{cfg.kind} epoch {epoch + 1}: validation SSIM {metrics['ssim']:.3f} NCC "
            f"{metrics['ncc']:.3f}",
            metrics,
        )
        if cfg.max_steps and step >= cfg.max_steps:
            break
    return {
        "best_val_ssim": best,
        "steps": step,
        "seconds": time.perf_counter() - t0,
        "model": model,
    }
