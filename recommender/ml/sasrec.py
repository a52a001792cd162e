"""A small SASRec-style sequential recommender (Kang & McAuley 2018) in torch, on CPU.

Differences from the paper, both known to help (Klenitskiy & Vasilev, RecSys 2023 "gSASRec"/"SASRec vs
BERT4Rec"): full softmax cross-entropy over the catalogue instead of one sampled negative, and positions
counted back from the most recent event, so the newest item always sits at position 0. Sequence update
("fold-in") is free: the model reads the customer's current history at serving time.
"""

from __future__ import annotations

import io
import math
import time
from typing import Any

import numpy as np
import torch
from torch import nn

from .baselines import EpochCallback, Recommender
from .data import Interactions


class SASRecNet(nn.Module):
    def __init__(self, n_items: int, dim: int, layers: int, heads: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=0)  # 0 = padding, item i -> i + 1
        self.pos_emb = nn.Embedding(max_len, dim)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim * 2, dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.dim = dim
        nn.init.normal_(self.item_emb.weight, std=dim ** -0.5)
        with torch.no_grad():
            self.item_emb.weight[0].zero_()

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        """seq: (B, L) left-padded item ids (+1). Returns hidden states (B, L, dim)."""
        length = seq.shape[1]
        positions = torch.arange(length - 1, -1, -1, device=seq.device)  # newest item -> position 0
        x = self.item_emb(seq) * math.sqrt(self.dim) + self.pos_emb(positions)[None]
        x = self.drop(x) * (seq > 0).unsqueeze(-1)
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=seq.device), diagonal=1)
        return self.norm(self.encoder(x, mask=causal))

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden @ self.item_emb.weight[1:].T


def _left_pad(seqs: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros((len(seqs), length), dtype=np.int64)
    for n, s in enumerate(seqs):
        s = np.asarray(s[-length:], dtype=np.int64) + 1
        if len(s):
            out[n, length - len(s):] = s
    return out


class SASRec(Recommender):
    name = "sasrec"
    default_params = {
        "dim": 64, "layers": 2, "heads": 2, "max_len": 50, "dropout": 0.3, "lr": 2e-3, "weight_decay": 0.0,
        "batch_size": 128, "epochs": 30, "patience": 3, "seed": 7, "threads": 1,
    }

    def fit(self, data: Interactions, *, on_epoch: EpochCallback | None = None,
            validation: tuple[list[np.ndarray], np.ndarray] | None = None) -> SASRec:
        """Train with full-softmax cross-entropy on next-item prediction.

        With `validation` (histories, held-out items) training stops early on validation NDCG@10 and keeps
        the best epoch's weights; `info["best_epoch"]` records it so a refit on more data can reuse it.
        """
        from .metrics import ndcg_at_k

        p = self.params
        torch.manual_seed(int(p["seed"]))
        torch.set_num_threads(int(p["threads"]))
        rng = np.random.default_rng(int(p["seed"]))
        self.n_items = data.n_items
        max_len = int(p["max_len"])
        self.net = SASRecNet(data.n_items, int(p["dim"]), int(p["layers"]), int(p["heads"]), max_len, float(p["dropout"]))
        seqs = [s for s in data.sequences() if len(s) >= 2]
        if not seqs:
            raise ValueError("SASRec needs at least one customer with two or more events")
        padded = _left_pad([s[-(max_len + 1):] for s in seqs], max_len + 1)
        inputs, targets = torch.from_numpy(padded[:, :-1]), torch.from_numpy(padded[:, 1:])
        opt = torch.optim.AdamW(self.net.parameters(), lr=float(p["lr"]), weight_decay=float(p["weight_decay"]))
        best, best_state, best_epoch, bad = -1.0, None, 0, 0
        batch = int(p["batch_size"])
        started = time.monotonic()
        # Length buckets: batches of similar-length sequences, so a batch is only as wide as its own sequences
        # (median 8 events on Amazon Grocery vs max_len 50). The order of the batches is shuffled every epoch,
        # and ties in length are broken at random, so batches differ between epochs.
        lengths = (padded[:, :-1] > 0).sum(axis=1)
        for epoch in range(1, int(p["epochs"]) + 1):
            self.net.train()
            by_length = np.lexsort((rng.random(len(seqs)), lengths))
            batches = [by_length[lo:lo + batch] for lo in range(0, len(by_length), batch)]
            total, count = 0.0, 0
            for n in rng.permutation(len(batches)):
                idx = torch.from_numpy(batches[n])
                inp, tgt = inputs[idx], targets[idx]
                width = int((inp > 0).sum(dim=1).max())  # trim shared left padding
                inp, tgt = inp[:, -width:], tgt[:, -width:]
                hidden = self.net(inp)
                mask = (tgt > 0) & (inp > 0)
                logits = self.net.logits(hidden[mask])
                loss = nn.functional.cross_entropy(logits, tgt[mask] - 1)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * int(mask.sum())
                count += int(mask.sum())
            report: dict[str, Any] = {"epoch": epoch, "epochs": int(p["epochs"]), "loss": total / max(count, 1),
                                      "seconds": time.monotonic() - started}
            if validation is not None:
                from .evaluate import ranks_for

                ranks = ranks_for(self, validation[0], validation[1])
                report["val_ndcg@10"] = ndcg_at_k(ranks, 10)
                if report["val_ndcg@10"] > best:
                    best, best_epoch, bad = report["val_ndcg@10"], epoch, 0
                    best_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
                else:
                    bad += 1
            if on_epoch:
                on_epoch(report)
            if validation is not None and bad >= int(p["patience"]):
                break
        if best_state is not None:
            self.net.load_state_dict(best_state)
            self.info["best_epoch"] = best_epoch
            self.info["val_ndcg@10"] = best
        else:
            self.info["best_epoch"] = int(p["epochs"])
        self.net.eval()
        return self

    @torch.no_grad()
    def score(self, histories):
        self.net.eval()
        max_len = int(self.params["max_len"])
        out = np.empty((len(histories), self.n_items), dtype=np.float32)
        for lo in range(0, len(histories), 512):
            chunk = histories[lo:lo + 512]
            seq = torch.from_numpy(_left_pad(chunk, max_len))
            width = max(1, int((seq > 0).sum(dim=1).max()))
            hidden = self.net(seq[:, -width:])[:, -1]
            out[lo:lo + len(chunk)] = self.net.logits(hidden).numpy()
        empty = np.array([len(h) == 0 for h in histories])
        if empty.any():
            out[empty] = 0.0
        return out

    # torch modules are stored as a state dict in bytes, not as pickled torch classes.
    def state(self):
        buffer = io.BytesIO()
        torch.save(self.net.state_dict(), buffer)
        return {"params": self.params, "n_items": self.n_items, "info": self.info, "weights": buffer.getvalue()}

    def load_state(self, state):
        self.params, self.n_items, self.info = state["params"], state["n_items"], state["info"]
        p = self.params
        self.net = SASRecNet(self.n_items, int(p["dim"]), int(p["layers"]), int(p["heads"]), int(p["max_len"]), float(p["dropout"]))
        self.net.load_state_dict(torch.load(io.BytesIO(state["weights"]), weights_only=True))
        self.net.eval()
