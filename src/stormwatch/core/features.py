"""Hashed word and character n-grams, computed for a whole batch at once with numpy.

Every post of a batch is laid end to end as one array of code points. A polynomial rolling
hash (mod 2^64, wrapping uint64 arithmetic) gives the hash of any substring in O(1):
h(l, r) = (P[r] - P[l]) * B^-l. So every character n-gram and every word is hashed by a few
vector operations over the batch, with no Python loop per post; the hashes are folded into
`dim` buckets (2^bits) and weighted by learned IDF, then each row is L2-normalised.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from stormwatch.core.normalize import IS_SPACE

_B = np.uint64(0x100000001B3)  # odd, so it has an inverse mod 2^64
_B_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SEP = "\x00"
_WORD_TABLE: np.ndarray | None = None
_SPACE_TABLE: np.ndarray | None = None


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Which BMP code points are word characters, and which are spaces (built once)."""
    global _WORD_TABLE, _SPACE_TABLE
    if _WORD_TABLE is None or _SPACE_TABLE is None:
        chars = [chr(c) for c in range(0x10000)]
        word = np.fromiter((c.isalnum() or c in "_#@'" for c in chars), bool, 0x10000)
        space = IS_SPACE.copy()
        space[0] = True  # the post separator
        _WORD_TABLE, _SPACE_TABLE = word, space
    return _WORD_TABLE, _SPACE_TABLE


_POWER_CACHE: dict[int, np.ndarray] = {}


def _powers(base: np.uint64, n: int) -> np.ndarray:
    """base^0 .. base^(n-1) mod 2^64, cached and grown by doubling."""
    cached = _POWER_CACHE.get(int(base))
    if cached is None or len(cached) < n:
        size = max(n, 2 * len(cached) if cached is not None else 1 << 16)
        out = np.full(size, base, dtype=np.uint64)
        out[0] = 1
        with np.errstate(over="ignore"):
            cached = np.cumprod(out, dtype=np.uint64)
        _POWER_CACHE[int(base)] = cached
    return cached[:n]


class HashedNgrams:
    """Word 1..`word_n`-grams and character `char_min`..`char_max`-grams, hashed to 2^bits."""

    def __init__(self, bits: int = 18, char_min: int = 2, char_max: int = 5, word_n: int = 2):
        self.bits = bits
        self.char_min = char_min
        self.char_max = char_max
        self.word_n = word_n

    @property
    def dim(self) -> int:
        return 1 << self.bits

    def config(self) -> dict[str, int]:
        return {
            "bits": self.bits,
            "char_min": self.char_min,
            "char_max": self.char_max,
            "word_n": self.word_n,
        }

    def _bucket(self, h: np.ndarray, salt: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            mixed = (h + np.uint64(salt) * _GOLDEN) * _GOLDEN
        return mixed >> np.uint64(64 - self.bits)

    def counts(self, texts: Sequence[str]) -> sp.csr_matrix:
        """(n, dim) raw n-gram counts of already-normalised texts."""
        n_docs = len(texts)
        if n_docs == 0:
            return sp.csr_matrix((0, self.dim), dtype=np.float32)
        joined = _SEP.join(texts) + _SEP
        cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        n = len(cps)
        lengths = np.fromiter((len(t) for t in texts), np.int64, n_docs)
        # Each position's post, pre-shifted into the high bits of a (post, bucket) key.
        doc_key = np.repeat(np.arange(n_docs, dtype=np.uint64) << np.uint64(self.bits), lengths + 1)
        values = cps.astype(np.uint64) + np.uint64(1)
        # How many characters from each position to the end of its post.
        sep_at = np.flatnonzero(cps == 0)
        room = np.repeat(sep_at, np.diff(np.concatenate(([-1], sep_at)))) - np.arange(n)

        keys: list[np.ndarray] = []
        # Hash of the `size` characters from each position, grown one character at a time:
        # the same polynomial as `substring` below, without its gathers.
        window = values
        step = np.uint64(1)
        with np.errstate(over="ignore"):
            for size in range(1, self.char_max + 1):
                if size > 1:
                    step = step * _B
                    window = window[:-1] + values[size - 1 :] * step
                if size >= self.char_min:
                    lo = np.flatnonzero(room[: len(window)] >= size)
                    keys.append(doc_key[lo] | self._bucket(window[lo], size))

        pw, inv = _powers(_B, n), _powers(_B_INV, n)
        with np.errstate(over="ignore"):
            prefix = np.concatenate(([np.uint64(0)], np.cumsum(values * pw, dtype=np.uint64)))

        def substring(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):
                return (prefix[hi] - prefix[lo]) * inv[lo]

        word_table, space_table = _tables()
        bmp = np.minimum(cps, 0xFFFF)
        is_word = word_table[bmp] & (cps <= 0xFFFF)
        is_space = space_table[bmp] & (cps <= 0xFFFF)
        prev_word = np.concatenate(([False], is_word[:-1]))
        next_word = np.concatenate((is_word[1:], [False]))
        word_lo = np.flatnonzero(is_word & ~prev_word)
        word_hi = np.flatnonzero(is_word & ~next_word) + 1
        single = np.flatnonzero(~is_word & ~is_space)
        tok_lo = np.concatenate((word_lo, single))
        tok_hi = np.concatenate((word_hi, single + 1))
        order = np.argsort(tok_lo, kind="stable")
        tok_lo, tok_hi = tok_lo[order], tok_hi[order]
        tok_hash = substring(tok_lo, tok_hi)
        tok_doc = doc_key[tok_lo]
        keys.append(tok_doc | self._bucket(tok_hash, 101))
        gram_hash = tok_hash
        for k in range(2, self.word_n + 1):
            same = tok_doc[k - 1 :] == tok_doc[: len(tok_doc) - k + 1]
            with np.errstate(over="ignore"):
                gram_hash = gram_hash[:-1] * _GOLDEN + tok_hash[k - 1 :]
            keys.append(tok_doc[: len(gram_hash)][same] | self._bucket(gram_hash[same], 100 + k))
        return self._matrix(n_docs, np.concatenate(keys))

    def _matrix(self, n_docs: int, key: np.ndarray) -> sp.csr_matrix:
        """Count each (post, bucket) key once: one sort gives the rows in order, the buckets
        sorted within each row and the runs of equal keys (twice as fast as letting scipy
        sum duplicates)."""
        key.sort()
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        counts = np.diff(np.append(starts, len(key))).astype(np.float32)
        unique = key[starts]
        indices = (unique & np.uint64(self.dim - 1)).astype(np.int32)
        per_row = np.bincount((unique >> np.uint64(self.bits)).astype(np.int64), minlength=n_docs)
        indptr = np.concatenate(([0], np.cumsum(per_row)))
        return sp.csr_matrix((counts, indices, indptr), shape=(n_docs, self.dim))

    def transform(self, texts: Sequence[str], idf: np.ndarray | None) -> sp.csr_matrix:
        """Sub-linear TF x IDF, rows L2-normalised (the usual TF-IDF recipe)."""
        matrix = self.counts(texts)
        np.log(matrix.data, out=matrix.data)
        matrix.data += 1.0
        if idf is not None:
            matrix.data *= idf[matrix.indices]
        squares = matrix.copy()
        squares.data **= 2
        norms = np.sqrt(np.asarray(squares.sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        matrix.data /= np.repeat(norms, np.diff(matrix.indptr)).astype(np.float32)
        return matrix


def fit_idf(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed IDF from document frequencies, as in scikit-learn."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    n = counts.shape[0]
    return (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
