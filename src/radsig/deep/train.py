"""Training backbones on the study's own training crops, on a CPU, deterministically.

``self_supervised``: SimCLR-style contrastive learning (two augmented views of each crop
should map close together, other crops apart; NT-Xent loss). ``supervised``: the backbone with a
linear head fine-tuned on a binary training endpoint. Both are seeded and run in a fixed
number of epochs; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from radsig._optional import require
from radsig.deep.backbones import Backbone

torch = require("torch", "deep")
F = torch.nn.functional


def _seed(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    return torch.Generator().manual_seed(seed)


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random flips, 90° in-plane rotations, intensity scale/shift and noise (batch-wise)."""
    if torch.rand(1, generator=g) < 0.5:
        x = torch.flip(x, dims=[-1])
    if torch.rand(1, generator=g) < 0.5:
        x = torch.flip(x, dims=[-2])
    k = int(torch.randint(0, 4, (1,), generator=g))
    x = torch.rot90(x, k, dims=[-2, -1])
    n = x.shape[0]
    shape = (n,) + (1,) * (x.dim() - 1)
    scale = 1 + 0.1 * (torch.rand(shape, generator=g) - 0.5)
    shift = 0.05 * (torch.rand(shape, generator=g) - 0.5)
    return x * scale + shift + 0.02 * torch.randn(x.shape, generator=g)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """Normalised temperature-scaled cross-entropy of SimCLR."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    n = z1.shape[0]
    sim.fill_diagonal_(-1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def train_self_supervised(model: Backbone, crops: np.ndarray, *, epochs: int = 20, batch_size: int = 32,
                          lr: float = 1e-3, seed: int = 0,
                          progress: Callable[[int, float], None] | None = None) -> dict:
    """Contrastive pre-training on *crops* (n, C, …); returns a training record."""
    g = _seed(seed)
    data = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
    head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(model.config["n_features"], 64))
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=lr)
    model.train()
    losses = []
    for epoch in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        total = 0.0
        for start in range(0, len(data) - 1, batch_size):
            batch = data[perm[start:start + batch_size]]
            if len(batch) < 2:
                continue
            loss = nt_xent(head(model(augment(batch, g))), head(model(augment(batch, g))))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(data))
        if progress:
            progress(epoch + 1, losses[-1])
    model.eval()
    return {"method": "self_supervised_contrastive", "epochs": epochs, "batch_size": batch_size,
            "lr": lr, "seed": seed, "n_crops": int(len(data)), "loss": losses}


def train_supervised(model: Backbone, crops: np.ndarray, y: np.ndarray, *, epochs: int = 20,
                     batch_size: int = 32, lr: float = 1e-3, seed: int = 0) -> dict:
    """Fine-tune *model* with a linear head on a binary training endpoint *y*."""
    g = _seed(seed)
    data = torch.from_numpy(np.ascontiguousarray(crops, dtype=np.float32))
    target = torch.as_tensor(np.asarray(y, dtype=np.float32))
    head = torch.nn.Linear(model.config["n_features"], 1)
    opt = torch.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=lr)
    model.train()
    losses = []
    for _ in range(epochs):
        perm = torch.randperm(len(data), generator=g)
        total = 0.0
        for start in range(0, len(data), batch_size):
            idx = perm[start:start + batch_size]
            if len(idx) < 2:
                continue
            logit = head(model(augment(data[idx], g))).squeeze(1)
            loss = F.binary_cross_entropy_with_logits(logit, target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(data))
    model.eval()
    return {"method": "supervised_finetune", "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "seed": seed, "n_crops": int(len(data)), "loss": losses}
