"""Near-duplicate posts: the copy-paste waves of a coordinated push.

Posts are compared by their gist (words only: no case, punctuation, digits, links,
mentions or hashtags), as sets of character 4-grams, so a changed word, an added hashtag
or different punctuation keep two copies close. MinHash signatures with LSH banding find
candidate pairs without comparing every pair; each candidate is then checked by its exact
Jaccard similarity, and pairs above the threshold are joined into groups (union-find).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from stormwatch.core.text import gist

_PRIME = (1 << 61) - 1
SHINGLE = 4


def shingles(text: str) -> set[int]:
    """Hashed character 4-grams of the post's gist (the whole gist when shorter)."""
    words = gist(text)
    if len(words) <= SHINGLE:
        return {zlib.crc32(words.encode())} if words else set()
    return {zlib.crc32(words[i : i + SHINGLE].encode()) for i in range(len(words) - SHINGLE + 1)}


def _signatures(sets: list[set[int]], hashes: int, seed: int) -> np.ndarray:
    """(len(sets), hashes) MinHash signatures, vectorised over all shingles at once."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _PRIME, hashes, dtype=np.uint64)
    b = rng.integers(0, _PRIME, hashes, dtype=np.uint64)
    sizes = np.array([max(len(s), 1) for s in sets])
    flat = np.fromiter(
        (h for s in sets for h in (s or {0})), dtype=np.uint64, count=int(sizes.sum())
    )
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.empty((len(sets), hashes), dtype=np.uint64)
    for j in range(hashes):  # a loop over hash functions, not posts
        values = (a[j] * flat + b[j]) % np.uint64(_PRIME)
        out[:, j] = np.minimum.reduceat(values, starts)
    return out


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
    stock phrases are not evidence of copying."""
    sets = [shingles(t) for t in texts]
    keep = [i for i, t in enumerate(texts) if len(gist(t)) >= min_chars]
    if len(keep) < 2:
        return []
    signatures = _signatures([sets[i] for i in keep], bands * rows, seed)
    parent = list(range(len(keep)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    checked: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
        for i, key in enumerate(block):
            buckets[key.tobytes()].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            first = members[0]
            for k in range(1, len(members)):
                other = members[k]
                # Compare with the bucket's first member and the previous one: enough to
                # chain a group together without every pair of a big bucket.
                for i, j in ((first, other), (members[k - 1], other)):
                    pair = (min(i, j), max(i, j))
                    if pair in checked or i == j:
                        continue
                    checked.add(pair)
                    if jaccard(sets[keep[i]], sets[keep[j]]) >= threshold:
                        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(keep)):
        groups[find(i)].append(keep[i])
    found = [sorted(g) for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g[0]))
