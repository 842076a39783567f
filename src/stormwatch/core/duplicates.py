"""Near-duplicate posts: the copy-paste waves of a coordinated push.

Posts are compared by their gist (words only: no case, punctuation, digits, links,
mentions or hashtags), as sets of character 4-grams, so a changed word, an added hashtag
or different punctuation keep two copies close. MinHash signatures with LSH banding find
candidate pairs without comparing every pair; each candidate is then checked by its exact
Jaccard similarity, and pairs above the threshold are joined into groups (union-find).
Shingles, signatures and bands are array work over all posts' characters at once, with no
loop per post or per shingle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from stormwatch.core.text import gist

SHINGLE = 4
# Odd 64-bit multipliers: a window of four code points is hashed as a weighted sum (with
# wrap-around), then mixed (splitmix64's finaliser) so that every output bit depends on
# every character.
_WEIGHTS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5],
    dtype=np.uint64,
)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on an array it may overwrite."""
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


def _shingle_table(gists: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, starts): the 64-bit hash of every window of four characters of every gist,
    gist after gist, and where each gist's run begins. A gist shorter than four characters
    is one window of itself padded with zeros. Duplicates within a gist are kept: a MinHash
    minimum does not mind them. One pass over all gists' characters at once."""
    padded = [g if len(g) >= SHINGLE else g.ljust(SHINGLE, "\0") for g in gists]
    lengths = np.fromiter(map(len, padded), np.int64, len(padded))
    codes = np.frombuffer("".join(padded).encode("utf-32-le"), dtype=np.uint32)
    windows = len(codes) - (SHINGLE - 1)
    summed = codes[:windows].astype(np.uint64)
    summed *= _WEIGHTS[0]
    term = np.empty_like(summed)
    with np.errstate(over="ignore"):
        for k in range(1, SHINGLE):
            np.multiply(codes[k : k + windows], _WEIGHTS[k], out=term)
            summed += term
    del term
    # Windows that start in a gist's last three characters run into the next gist.
    ends = np.cumsum(lengths)
    keep = np.ones(len(codes), bool)
    keep[(ends[:, None] - np.arange(1, SHINGLE)).ravel()] = False
    hashes = _mix(summed[keep[:windows]])
    counts = lengths - (SHINGLE - 1)
    return hashes, np.concatenate([[0], np.cumsum(counts)[:-1]])


def shingles(text: str) -> set[int]:
    """Hashed character 4-grams of the post's gist (the whole gist when shorter)."""
    words = gist(text)
    return set(_shingle_table([words])[0].tolist()) if words else set()


def _signatures(hashes: np.ndarray, starts: np.ndarray, functions: int, seed: int) -> np.ndarray:
    """(gists, functions) MinHash signatures in 32 bits: per function, a random odd
    multiplier and an offset applied to the top half of every shingle hash (mod 2^32), the
    minimum taken per gist. 32-bit arithmetic runs ~4x faster than 64-bit here, and the
    signatures only pick candidates: the exact check uses the full hashes."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 2**32, functions, dtype=np.uint64).astype(np.uint32) | np.uint32(1)
    b = rng.integers(0, 2**32, functions, dtype=np.uint64).astype(np.uint32)
    top = (hashes >> np.uint64(32)).astype(np.uint32)
    scratch = np.empty_like(top)
    out = np.empty((len(starts), functions), dtype=np.uint32)
    for j in range(functions):  # a loop over hash functions, not posts
        np.multiply(top, a[j], out=scratch)
        np.add(scratch, b[j], out=scratch)
        out[:, j] = np.minimum.reduceat(scratch, starts)
    return out


def _candidates(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(pairs, 2) distinct index pairs (i < j) that share a band of their signatures: in
    each bucket, every member with the bucket's first member and with the one before it
    (enough to chain a group without every pair of a big bucket)."""
    found = []
    for band in range(bands):
        block = signatures[:, band * rows : (band + 1) * rows].astype(np.uint64)
        key = _mix(block[:, 0].copy())
        for k in range(1, rows):
            key = _mix(key ^ block[:, k])
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        same = np.flatnonzero(ordered[1:] == ordered[:-1]) + 1  # positions with a predecessor
        if not len(same):
            continue
        run_start = np.maximum.accumulate(
            np.where(np.r_[True, ordered[1:] != ordered[:-1]], np.arange(len(ordered)), 0)
        )
        member = order[same]
        for other in (order[run_start[same]], order[same - 1]):
            found.append(np.column_stack([np.minimum(other, member), np.maximum(other, member)]))
    if not found:
        return np.zeros((0, 2), np.int64)
    return np.unique(np.vstack(found), axis=0)


def jaccard(x: set[int], y: set[int]) -> float:
    return len(x & y) / len(x | y) if x or y else 1.0


def near_duplicate_groups(
    texts: Sequence[str],
    threshold: float = 0.5,
    bands: int = 16,
    rows: int = 4,
    min_chars: int = 20,
    seed: int = 0,
) -> list[list[int]]:
    """Groups (lists of indices, each sorted, largest group first) of posts whose gists
    share at least `threshold` of their 4-grams, directly or through a chain of such
    pairs. Posts whose gist is shorter than `min_chars` ("thanks!") are left out: short
    stock phrases are not evidence of copying. Identical gists are grouped first, so the
    MinHash work is per distinct text, not per post; every candidate pair is checked by
    its exact Jaccard similarity before it is joined."""
    by_gist: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        words = gist(text)
        if len(words) >= min_chars:
            by_gist[words].append(i)
    distinct = list(by_gist)
    if not distinct:
        return []
    parent = list(range(len(distinct)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(distinct) > 1:
        hashes, starts = _shingle_table(distinct)
        pairs = _candidates(_signatures(hashes, starts, bands * rows, seed), bands, rows)
        ends = np.r_[starts[1:], len(hashes)]
        sets: dict[int, np.ndarray] = {}

        def shingle_set(i: int) -> np.ndarray:
            if i not in sets:
                sets[i] = np.unique(hashes[starts[i] : ends[i]])
            return sets[i]

        for i, j in pairs.tolist():
            x, y = shingle_set(i), shingle_set(j)
            both = len(np.intersect1d(x, y, assume_unique=True))
            if both / (len(x) + len(y) - both) >= threshold:
                parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, words in enumerate(distinct):
        groups[find(i)].extend(by_gist[words])
    found = [sorted(g) for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g[0]))
