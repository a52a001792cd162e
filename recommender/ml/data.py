"""Interaction logs, their loaders and the leak-free leave-last-out split.

An `Interactions` holds one row per (user, item) *first* interaction, sorted by user then time (ties keep the
input order). Collapsing repeats to the first occurrence keeps the evaluation honest: a held-out "last item"
is always an item new to that user, so no model scores a hit by echoing the history.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

# Stronger signals weigh more in the user-item matrix; the sequence keeps every type.
EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "pv": 1.0,
    "click": 1.0,
    "search": 0.5,
    "fav": 2.0,
    "add_to_cart": 3.0,
    "cart": 3.0,
    "checkout": 4.0,
    "remove_from_cart": 0.5,
    "purchase": 5.0,
    "buy": 5.0,
    "order": 5.0,
    "": 1.0,
}


@dataclass
class Interactions:
    """Sorted by (user, time). `user`/`item` are dense indices into `user_ids`/`item_ids`."""

    user: np.ndarray
    item: np.ndarray
    ts: np.ndarray
    weight: np.ndarray
    user_ids: list
    item_ids: list
    item_category: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.user)

    def subset(self, mask: np.ndarray) -> Interactions:
        return Interactions(
            self.user[mask], self.item[mask], self.ts[mask], self.weight[mask],
            self.user_ids, self.item_ids, self.item_category,
        )

    def matrix(self) -> sp.csr_matrix:
        """users x items, the summed weights (>0 means interacted)."""
        return sp.csr_matrix(
            (self.weight.astype(np.float32), (self.user, self.item)), shape=(self.n_users, self.n_items)
        )

    def sequences(self) -> list[np.ndarray]:
        """Each user's items in time order (empty array for users without interactions)."""
        bounds = np.searchsorted(self.user, np.arange(self.n_users + 1))
        return [self.item[bounds[u]:bounds[u + 1]] for u in range(self.n_users)]

    def popularity(self) -> np.ndarray:
        return np.bincount(self.item, minlength=self.n_items).astype(np.float64)


def interactions_from_records(
    users, items, timestamps, event_types=None, *, item_category: dict | None = None
) -> Interactions:
    """Build from parallel sequences (raw ids, unix seconds, optional event type names).

    Repeats of a (user, item) pair collapse onto the first occurrence, with the strongest event's weight.
    """
    users = np.asarray(users, dtype=object)
    items = np.asarray(items, dtype=object)
    ts = np.asarray(timestamps, dtype=np.int64)
    n = len(users)
    if not (len(items) == len(ts) == n):
        raise ValueError("users, items and timestamps must have the same length")
    if event_types is None:
        weights = np.ones(n, dtype=np.float32)
    else:
        weights = np.array([EVENT_WEIGHTS.get(str(t).lower(), 1.0) for t in event_types], dtype=np.float32)
    user_ids, uidx = np.unique(users.astype(str) if n else users, return_inverse=True)
    item_ids, iidx = np.unique(items.astype(str) if n else items, return_inverse=True)
    order = np.lexsort((np.arange(n), ts, uidx))  # user, then time, then input order
    uidx, iidx, ts, weights = uidx[order], iidx[order], ts[order], weights[order]
    pair = uidx.astype(np.int64) * max(len(item_ids), 1) + iidx
    _, first = np.unique(pair, return_index=True)
    # Strongest weight over the repeats of each pair, kept on the first occurrence.
    _, inverse = np.unique(pair, return_inverse=True)
    best = np.zeros(len(first), dtype=np.float32)
    np.maximum.at(best, inverse, weights)
    keep = np.sort(first)
    pair_rank = inverse[keep]
    return Interactions(
        user=uidx[keep].astype(np.int64),
        item=iidx[keep].astype(np.int64),
        ts=ts[keep],
        weight=best[pair_rank],
        user_ids=list(user_ids),
        item_ids=list(item_ids),
        item_category=dict(item_category or {}),
    )


@dataclass
class Split:
    train: Interactions
    test_users: np.ndarray  # user indices with a held-out item
    test_items: np.ndarray  # the held-out item per test user
    test_ts: np.ndarray


def leave_last_out(data: Interactions, *, min_train: int = 1) -> Split:
    """Hold out each user's last interaction; train on everything before it.

    Users with fewer than `min_train + 1` interactions keep all of them in train and are not evaluated.
    Because rows are sorted by (user, time, input order), every training row of a test user is at or before
    the held-out timestamp (same-day ties keep the input order, which is the log's own order).
    """
    n = len(data)
    if n == 0:
        return Split(data, np.array([], np.int64), np.array([], np.int64), np.array([], np.int64))
    last = np.ones(n, dtype=bool)
    last[:-1] = data.user[1:] != data.user[:-1]
    counts = np.bincount(data.user, minlength=data.n_users)
    eligible = counts[data.user] >= min_train + 1
    held = last & eligible
    return Split(
        train=data.subset(~held),
        test_users=data.user[held],
        test_items=data.item[held],
        test_ts=data.ts[held],
    )


def eligible_customer_count(data: Interactions, *, min_events: int = 2) -> int:
    counts = np.bincount(data.user, minlength=data.n_users)
    return int((counts >= min_events).sum())


# --------------------------------------------------------------------------------------------------- loaders

def _parse_time(value: str) -> int:
    value = value.strip()
    try:
        return int(float(value))
    except ValueError:
        pass
    text = value.replace(" UTC", "+00:00").replace("Z", "+00:00")
    for fmt in (None, "%Y-%m-%d %H"):
        try:
            dt = datetime.fromisoformat(text) if fmt is None else datetime.strptime(text, fmt)
            if dt.tzinfo is None:
                from datetime import UTC

                dt = dt.replace(tzinfo=UTC)
            return int(dt.timestamp())
        except ValueError:
            continue
    raise ValueError(f"unreadable timestamp {value!r}")


def load_interactions_csv(path: str | Path) -> Interactions:
    """Any CSV (or TSV) with columns user_id, item_id, timestamp and an optional event_type.

    `timestamp` may be unix seconds or an ISO date/time. Raises ValueError naming the line of a bad row.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as fh:
        sample = fh.read(4096)
        fh.seek(0)
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        reader = csv.DictReader(fh, delimiter=delimiter)
        fields = {f.strip() for f in (reader.fieldnames or [])}
        time_col = "timestamp" if "timestamp" in fields else ("time" if "time" in fields else None)
        missing = {"user_id", "item_id"} - fields
        if missing or time_col is None:
            raise ValueError(
                f"{path}: needs columns user_id, item_id, timestamp (optional event_type); found {sorted(fields)}"
            )
        users, items, times, types = [], [], [], []
        has_type = "event_type" in fields
        for line_no, row in enumerate(reader, start=2):
            u, i, t = (row.get("user_id") or "").strip(), (row.get("item_id") or "").strip(), row.get(time_col) or ""
            if not u or not i:
                raise ValueError(f"{path}:{line_no}: empty user_id or item_id")
            try:
                times.append(_parse_time(t))
            except ValueError as exc:
                raise ValueError(f"{path}:{line_no}: {exc}") from None
            users.append(u)
            items.append(i)
            types.append((row.get("event_type") or "").strip() if has_type else "")
    return interactions_from_records(users, items, times, types if has_type else None)


def load_amazon_grocery(folder: str | Path) -> Interactions:
    folder = Path(folder)
    data = load_interactions_csv(folder / "train.csv")
    meta = folder / "item_meta.csv"
    if meta.exists():
        with meta.open(newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            data.item_category = {row["item_id"]: row["i_category"] for row in reader}
    return data


def load_taobao(folder: str | Path) -> Interactions:
    users, items, times, types = [], [], [], []
    with (Path(folder) / "UserBehavior.csv").open(newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 5:
                continue
            users.append(row[0]); items.append(row[1]); types.append(row[3]); times.append(int(row[4]))  # noqa: E702
    return interactions_from_records(users, items, times, types)


def load_rees46(folder: str | Path) -> Interactions:
    users, items, times, types = [], [], [], []
    for path in sorted(Path(folder).glob("*.csv")):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                users.append(row["user_id"]); items.append(row["product_id"])  # noqa: E702
                times.append(_parse_time(row["event_time"])); types.append(row["event_type"])  # noqa: E702
    return interactions_from_records(users, items, times, types)


def load_tianchi(folder: str | Path) -> Interactions:
    names = {"1": "view", "2": "fav", "3": "cart", "4": "purchase"}
    users, items, times, types = [], [], [], []
    with (Path(folder) / "sample_user_behavior.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            users.append(row["user_id"]); items.append(row["item_id"])  # noqa: E702
            times.append(_parse_time(row["time"])); types.append(names.get(row["behavior_type"], "view"))  # noqa: E702
    return interactions_from_records(users, items, times, types)


def load_otto(folder: str | Path) -> Interactions:
    """OTTO sessions (JSONL, one session per line; ts in milliseconds): a session is the user."""
    import json

    names = {"clicks": "view", "carts": "cart", "orders": "purchase"}
    users, items, times, types = [], [], [], []
    with (Path(folder) / "train.jsonl").open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                session = json.loads(line)
                for event in session["events"]:
                    users.append(str(session["session"])); items.append(str(event["aid"]))  # noqa: E702
                    times.append(int(event["ts"]) // 1000); types.append(names.get(event["type"], "view"))  # noqa: E702
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{folder}/train.jsonl:{line_no}: {exc}") from None
    return interactions_from_records(users, items, times, types)


DATASET_LOADERS = {
    "amazon-grocery-5core": load_amazon_grocery,
    "taobao-userbehavior-slice": load_taobao,
    "rees46-oct2019-head": load_rees46,
    "tianchi-mobile-2014-head": load_tianchi,
    "otto-fixture": load_otto,
}
