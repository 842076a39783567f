"""What the crowd is talking about: embed -> reduce -> cluster -> assign -> describe.

Each stage is a small object (BERTopic's shape) so any can be swapped; the core takes
embeddings and texts, never a model file. The defaults are chosen for short posts:

- embeddings are centred and their dominant common direction removed (it carries "this is
  a tweet", not a topic);
- density clustering (HDBSCAN) runs on a PCA reduction of a sample of the posts, so the
  number of themes is found, not given, and sparse posts are left as noise;
- every post is then assigned by a vote of its nearest dense-core posts in the full space,
  and kept as noise when it is less similar to them than the typical core member is to its
  own neighbours (so a large campaign is clustered in seconds, and live posts are assigned
  the same way);
- a theme is described by class-based TF-IDF keywords (campaign hashtags, the brand's own
  handle, links, mentions and stop-words excluded), a short label, and diverse
  representative posts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from stormwatch.core.text import gist

_STOP_TEXT = """
a about above after again against all am an and any are aren as at be because been
before being below between both but by can cannot could couldn did didn do does doesn
doing don down during each few for from further get gets got had hadn has hasn have
haven having he her here hers herself him himself his how i if in into is isn it its
itself just let me more most mustn my myself no nor not now of off on once only or other
ought our ours ourselves out over own same shan she should shouldn so some such than
that the their theirs them themselves then there these they this those through to too
under until up very was wasn we were weren what when where which while who whom why will
with won would wouldn you your yours yourself yourselves im ive id youre dont cant wont
isnt thats whats theres lets u ur r rt amp via user http https co www com html one also
like really would could us go going much many even still well way know think say said
make made want need see day today yes yeah oh ok lol
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"#?[^\W\d_][\w']+")


# --- stages --------------------------------------------------------------------------------


def common_direction_removed(vectors: np.ndarray, mean: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Centre, drop the dominant shared direction, renormalise (rows)."""
    centred = np.asarray(vectors, dtype=np.float32) - mean.astype(np.float32)  # one copy
    if np.any(axis):
        centred -= np.outer(centred @ axis.astype(np.float32), axis.astype(np.float32))
    centred /= np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-9)
    return centred


@dataclass
class PCAReducer:
    """Linear reduction for density clustering (UMAP's role in BERTopic, without numba)."""

    dims: int = 10
    components_: np.ndarray | None = None
    mean_: np.ndarray | None = None

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        self.mean_ = x.mean(axis=0)
        centred = x - self.mean_
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        self.components_ = vt[: self.dims]
        return centred @ self.components_.T

    def transform(self, x: np.ndarray) -> np.ndarray:
        assert self.components_ is not None and self.mean_ is not None
        return (x - self.mean_) @ self.components_.T


@dataclass
class DensityClusterer:
    """HDBSCAN (scikit-learn's) with leaf selection: many small dense groups, found rather
    than asked for, the rest -1. (The default "excess of mass" selection swings between two
    giant clusters and many small ones as parameters move; leaves, merged afterwards by
    `merge_similar`, are steadier.)"""

    min_cluster_size: int | None = None  # default: ~0.7% of the sample, at least 8
    min_samples: int = 5

    def fit_predict(self, x: np.ndarray) -> np.ndarray:
        from sklearn.cluster import HDBSCAN

        size = self.min_cluster_size or max(8, len(x) // 150)
        if len(x) <= size:
            return np.full(len(x), -1, dtype=np.int64)
        return HDBSCAN(
            min_cluster_size=size,
            min_samples=self.min_samples,
            cluster_selection_method="leaf",
            copy=True,
        ).fit_predict(x)


@dataclass
class MicroClusterer:
    """k-means into many small groups (a resolution, not the number of themes), which the
    pipeline then merges by centroid similarity and thins (small groups and outliers become
    noise). Steadier than HDBSCAN on short posts, and chosen on the stance train mix."""

    micro: int = 30
    seed: int = 7

    def fit_predict(self, x: np.ndarray) -> np.ndarray:
        from sklearn.cluster import KMeans

        k = min(self.micro, max(1, len(x) // 10))
        if len(x) < 20:
            return np.full(len(x), -1, dtype=np.int64)
        return KMeans(k, n_init=3, random_state=self.seed).fit_predict(x).astype(np.int64)


def merge_similar(labels: np.ndarray, centroids: np.ndarray, min_similarity: float) -> np.ndarray:
    """Merge themes whose centroids are closer than `min_similarity` (average linkage over
    cosine), so one subject split into several dense leaves becomes one theme."""
    if len(centroids) < 2:
        return labels
    from sklearn.cluster import AgglomerativeClustering

    merged = AgglomerativeClustering(
        n_clusters=None,
        distance_threshold=1.0 - min_similarity,
        metric="cosine",
        linkage="average",
    ).fit_predict(centroids)
    return np.where(labels >= 0, merged[np.maximum(labels, 0)], -1)


@dataclass
class NeighbourAssigner:
    """Assign posts by the vote of their `k` most similar core posts; noise below the
    `floor` quantile of the cores' own neighbour similarity."""

    k: int = 10
    floor: float = 0.1
    chunk: int = 1024  # rows of similarities at a time: memory stays small
    max_cores: int = 4000  # a random subsample of cores keeps assignment linear in posts
    seed: int = 7
    threshold_: float = 0.0

    def fit(self, cores: np.ndarray, labels: np.ndarray) -> NeighbourAssigner:
        if len(cores) > self.max_cores:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(len(cores), self.max_cores, replace=False))
            cores, labels = cores[keep], labels[keep]
        self.cores_, self.labels_ = cores, labels
        inner = self._top_means(cores, exclude_self=True)
        self.threshold_ = float(np.quantile(inner, self.floor)) if len(inner) else 1.0
        return self

    def _top_means(self, x: np.ndarray, exclude_self: bool = False) -> np.ndarray:
        k = min(self.k, len(self.cores_) - int(exclude_self))
        out = np.zeros(len(x), dtype=np.float32)
        for start in range(0, len(x), self.chunk):
            sims = x[start : start + self.chunk] @ self.cores_.T
            if exclude_self:
                rows = np.arange(len(sims))
                sims[rows, rows + start] = -np.inf
            top = np.partition(sims, -k, axis=1)[:, -k:]
            out[start : start + len(sims)] = top.mean(axis=1)
        return out

    def assign(self, x: np.ndarray) -> np.ndarray:
        n_themes = int(self.labels_.max()) + 1 if len(self.labels_) else 0
        k = min(self.k, len(self.cores_))
        result = np.full(len(x), -1, dtype=np.int64)
        if k == 0 or n_themes == 0:
            return result
        for start in range(0, len(x), self.chunk):
            sims = x[start : start + self.chunk] @ self.cores_.T
            nearest = np.argpartition(sims, -k, axis=1)[:, -k:]
            near_sims = np.take_along_axis(sims, nearest, axis=1)
            votes = np.zeros((len(sims), n_themes), dtype=np.float32)
            np.add.at(
                votes, (np.repeat(np.arange(len(sims)), k), self.labels_[nearest].ravel()), 1.0
            )
            winner = votes.argmax(axis=1)
            close = near_sims.mean(axis=1) >= self.threshold_
            result[start : start + len(sims)] = np.where(close, winner, -1)
        return result


# --- the whole pipeline --------------------------------------------------------------------


@dataclass
class ThemeFit:
    """What a fit found: a theme id per post (-1 noise) and each theme's centroid."""

    labels: np.ndarray
    centroids: np.ndarray  # (themes, dims), unit rows, in the cleaned space
    mean: np.ndarray
    axis: np.ndarray
    threshold: float  # a live post joins its nearest theme at or above this cosine


@dataclass
class ThemePipeline:
    reducer: PCAReducer | None = None  # None: cluster in the full space
    clusterer: MicroClusterer | DensityClusterer = field(default_factory=MicroClusterer)
    assigner: NeighbourAssigner = field(default_factory=lambda: NeighbourAssigner(floor=0.0))
    sample: int = 12_000
    seed: int = 7
    remove_common: bool = False
    merge_at: float = 0.3  # themes whose centroids are at least this similar become one
    min_cohesion: float = 0.5  # a group must be this coherent, relative to the median
    min_share: float = 0.03  # smaller themes are noise
    outliers: float = 0.15  # members least like their theme (this share) are noise

    def fit(self, embeddings: np.ndarray) -> ThemeFit:
        """Cluster unit-length post embeddings (n, d)."""
        x = np.asarray(embeddings, dtype=np.float32)
        n = len(x)
        if n == 0:
            empty = np.zeros((0, x.shape[1] if x.ndim == 2 else 0), np.float32)
            return ThemeFit(np.zeros(0, np.int64), empty, np.zeros(0), np.zeros(0), 1.0)
        mean = x.mean(axis=0)
        rng = np.random.default_rng(self.seed)
        pick = np.sort(rng.choice(n, self.sample, replace=False)) if n > self.sample else None
        basis = (x if pick is None else x[pick]) - mean
        axis = np.linalg.svd(basis, full_matrices=False)[2][0]
        del basis
        if not self.remove_common:
            axis = np.zeros_like(axis)
        clean = common_direction_removed(x, mean, axis)
        sample = clean if pick is None else clean[pick]
        reduced = sample if self.reducer is None else self.reducer.fit_transform(sample)
        dense = self.clusterer.fit_predict(reduced)
        dense = _by_size(_coherent(sample, _by_size(dense), self.min_cohesion))
        core = dense >= 0
        if not core.any():
            labels = np.full(n, -1, dtype=np.int64)
            return ThemeFit(labels, np.zeros((0, x.shape[1]), np.float32), mean, axis, 1.0)
        self.assigner.fit(sample[core], dense[core])
        labels = _by_size(self.assigner.assign(clean))
        labels = _by_size(merge_similar(labels, _centroids(clean, labels), self.merge_at))
        labels = _thinned(clean, labels, self.min_share, self.outliers)
        centroids = _centroids(clean, labels)
        sims = _member_similarity(clean, labels, centroids)
        threshold = float(np.quantile(sims, 0.05)) if len(sims) else 1.0
        return ThemeFit(labels, centroids, mean, axis, threshold)


def _member_similarity(x: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each themed post's cosine to its theme's centroid (x @ centroids is n x themes, small;
    indexing centroids by label would copy a row per post)."""
    inside = np.flatnonzero(labels >= 0)
    return (x @ centroids.T)[inside, labels[inside]]


def _thinned(x: np.ndarray, labels: np.ndarray, min_share: float, outliers: float) -> np.ndarray:
    """Themes under `min_share` of the posts become noise, then the `outliers` share of
    members least similar to their theme's centroid."""
    counts = np.bincount(labels[labels >= 0], minlength=1)
    small = counts < min_share * len(labels)
    labels = _by_size(np.where((labels >= 0) & small[np.maximum(labels, 0)], -1, labels))
    inside = labels >= 0
    if outliers > 0 and inside.any():
        sims = _member_similarity(x, labels, _centroids(x, labels))
        far = np.flatnonzero(inside)[sims < np.quantile(sims, outliers)]
        labels = labels.copy()
        labels[far] = -1
    return _by_size(labels)


def _coherent(x: np.ndarray, labels: np.ndarray, relative: float) -> np.ndarray:
    """Drop dense groups that are not coherent in the full space: a reduction squeezes
    unrelated, generic posts together near its origin, where they look dense. Cohesion is
    the mean cosine of members to their centroid; a group under `relative` times the
    median cohesion is noise."""
    if labels.max(initial=-1) < 0:
        return labels
    centroids = _centroids(x, labels)
    inside = labels >= 0
    sims = np.einsum("ij,ij->i", x[inside], centroids[labels[inside]])
    cohesion = np.bincount(labels[inside], weights=sims) / np.bincount(labels[inside])
    weak = cohesion < relative * np.median(cohesion)
    return np.where(inside & weak[np.maximum(labels, 0)], -1, labels)


def _by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..k-1, largest first (noise stays -1)."""
    counts = Counter(int(v) for v in labels if v >= 0)
    order = {old: new for new, (old, _) in enumerate(counts.most_common())}
    return np.array([order.get(int(v), -1) for v in labels], dtype=np.int64)


def _centroids(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Unit mean direction per theme, as one sparse product (no per-post copies)."""
    from scipy.sparse import csr_matrix

    k = int(labels.max()) + 1 if len(labels) and labels.max() >= 0 else 0
    if k == 0:
        return np.zeros((0, x.shape[1]), dtype=np.float32)
    inside = np.flatnonzero(labels >= 0)
    members = csr_matrix(
        (np.ones(len(inside), dtype=np.float32), (labels[inside], inside)), shape=(k, len(x))
    )
    out = np.asarray(members @ x, dtype=np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


# --- describing a theme --------------------------------------------------------------------


def words(text: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    """The words a theme may be named by: lowercase, hashtags kept as words, links,
    mentions, numbers, stop-words and the excluded terms (campaign tags, the brand) out."""
    text = re.sub(r"https?://\S+|@\w+", " ", text.lower())
    out = []
    for w in _WORD.findall(text):
        w = w.strip("'")
        bare = w.lstrip("#")
        plain = bare.replace("'", "")
        if len(bare) < 3 or plain in STOP_WORDS or w in exclude or bare in exclude:
            continue
        out.append(w)
    return out


def campaign_terms(texts: Sequence[str], share: float = 0.2) -> frozenset[str]:
    """Hashtags and handles in more than `share` of the posts: the campaign's own tags and
    the brand it addresses, which describe every theme and so name none."""
    if not texts:
        return frozenset()
    seen: Counter[str] = Counter()
    for text in texts:
        seen.update({t.lower() for t in re.findall(r"[#@]\w+", text)})
    cut = share * len(texts)
    found = {t for t, n in seen.items() if n > cut}
    return frozenset(found | {t.lstrip("#@") for t in found})


def keywords(
    texts: Sequence[str], labels: np.ndarray, exclude: frozenset[str] = frozenset(), top: int = 8
) -> dict[int, list[str]]:
    """Class-based TF-IDF: a term's frequency in a theme, weighted by how rare it is across
    themes (log(1 + mean words per theme / the term's total frequency))."""
    per_theme: dict[int, Counter[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        if label >= 0:
            per_theme.setdefault(int(label), Counter()).update(words(text, exclude))
    if not per_theme:
        return {}
    total: Counter[str] = Counter()
    for counts in per_theme.values():
        total.update(counts)
    average = sum(total.values()) / len(per_theme)
    result = {}
    for label, counts in per_theme.items():
        size = max(sum(counts.values()), 1)
        scored = sorted(
            ((n / size) * np.log1p(average / total[w]), w) for w, n in counts.items() if n >= 2
        )
        result[label] = [w for _, w in reversed(scored[-top:])]
    return result


def label_of(terms: Sequence[str], n: int = 3) -> str:
    """A short name from the top keywords, without a word twice (tag and plain)."""
    chosen: list[str] = []
    for term in terms:
        bare = term.lstrip("#")
        if all(bare != c.lstrip("#") for c in chosen):
            chosen.append(term)
        if len(chosen) == n:
            break
    return " · ".join(chosen) if chosen else "(no clear words)"


def representatives(
    clean: np.ndarray,
    members: np.ndarray,
    centroid: np.ndarray,
    texts: Sequence[str],
    n: int = 5,
    diversity: float = 0.5,
) -> list[int]:
    """Maximal marginal relevance: typical of the theme, unlike each other, no two with
    the same words."""
    if len(members) == 0:
        return []
    vectors = clean[members]
    # typical of the theme, and with something to say: very short posts ("@user Anything?")
    # sit near every centroid but show nothing
    wordiness = np.array([min(1.0, len(gist(texts[int(m)]).split()) / 6) for m in members])
    relevance = (vectors @ centroid) * wordiness
    order = np.argsort(-relevance)[: max(n * 20, 50)]
    chosen: list[int] = []
    gists: set[str] = set()
    while len(chosen) < n and len(order):
        if chosen:
            redundancy = (vectors[order] @ vectors[chosen].T).max(axis=1)
            score = (1 - diversity) * relevance[order] - diversity * redundancy
        else:
            score = relevance[order]
        best = int(order[int(np.argmax(score))])
        order = order[order != best]
        g = gist(texts[int(members[best])])
        if g and g in gists:
            continue
        gists.add(g)
        chosen.append(best)
    return [int(members[i]) for i in chosen]


def rise(created_ms: np.ndarray, labels: np.ndarray, windows: int = 12) -> dict[int, list[int]]:
    """Posts per theme in `windows` equal spans of the campaign's time (for sparklines)."""
    timed = created_ms >= 0
    if not timed.any():
        return {}
    start, end = int(created_ms[timed].min()), int(created_ms[timed].max()) + 1
    bins = np.minimum(((created_ms - start) * windows) // max(end - start, 1), windows - 1)
    out: dict[int, list[int]] = {}
    for label in np.unique(labels[labels >= 0]):
        mask = (labels == label) & timed
        out[int(label)] = np.bincount(bins[mask], minlength=windows).astype(int).tolist()
    return out


def share_rows(
    flags: dict[str, np.ndarray], labels: np.ndarray, names: Iterable[str]
) -> dict[int, dict[str, float]]:
    """Each theme's share of posts carrying each flag (negative, offensive, ...)."""
    out: dict[int, dict[str, float]] = {}
    for label in np.unique(labels[labels >= 0]):
        mask = labels == label
        out[int(label)] = {
            name: round(float(flags[name][mask].mean()), 4) for name in names if name in flags
        }
    return out
