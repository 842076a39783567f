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
    return set(_shingle_array(gist(text)).tolist())


def _shingle_array(words: str) -> np.ndarray:
    """Sorted unique hashed 4-grams of a gist, as a small array (no per-post set kept)."""
    if len(words) <= SHINGLE:
        grams = [words] if words else []
    else:
        grams = [words[i : i + SHINGLE] for i in range(len(words) - SHINGLE + 1)]
    return np.unique(np.fromiter((zlib.crc32(g.encode()) for g in grams), np.uint64, len(grams)))


def _signatures(arrays: list[np.ndarray], hashes: int, seed: int) -> np.ndarray:
    """(len(arrays), hashes) MinHash signatures, vectorised over all shingles at once."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, _PRIME, hashes, dtype=np.uint64)
    b = rng.integers(0, _PRIME, hashes, dtype=np.uint64)
    padded = [x if len(x) else np.zeros(1, np.uint64) for x in arrays]
    sizes = np.array([len(x) for x in padded])
    flat = np.concatenate(padded)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = np.empty((len(arrays), hashes), dtype=np.uint64)
    for j in range(hashes):  # a loop over hash functions, not posts
        values = (a[j] * flat + b[j]) % np.uint64(_PRIME)
        out[:, j] = np.minimum.reduceat(values, starts)
    return out


def jaccard(x: set[int], y: set[int]) -> float:
    return len(x & y) / len(x | y) if x or y else 1.0


def _jaccard_arrays(x: np.ndarray, y: np.ndarray) -> float:
    both = len(np.intersect1d(x, y, assume_unique=True))
    return both / (len(x) + len(y) - both) if len(x) or len(y) else 1.0


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
    MinHash work is per distinct text, not per post."""
    by_gist: dict[str, list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        words = gist(text)
        if len(words) >= min_chars:
            by_gist[words].append(i)
    distinct = list(by_gist)
    if not distinct:
        return []
    arrays = [_shingle_array(words) for words in distinct]
    parent = list(range(len(distinct)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(distinct) > 1:
        signatures = _signatures(arrays, bands * rows, seed)
        checked: set[tuple[int, int]] = set()
        for band in range(bands):
            buckets: dict[bytes, list[int]] = defaultdict(list)
            block = np.ascontiguousarray(signatures[:, band * rows : (band + 1) * rows])
            for i, key in enumerate(block):
                buckets[key.tobytes()].append(i)
            for members in buckets.values():
                for k in range(1, len(members)):
                    # Compare with the bucket's first member and the previous one: enough
                    # to chain a group without every pair of a big bucket.
                    for i in {members[0], members[k - 1]}:
                        j = members[k]
                        pair = (min(i, j), max(i, j))
                        if pair in checked:
                            continue
                        checked.add(pair)
                        if _jaccard_arrays(arrays[i], arrays[j]) >= threshold:
                            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, words in enumerate(distinct):
        groups[find(i)].extend(by_gist[words])
    found = [sorted(g) for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g[0]))
