import numpy as np
import scipy.sparse as sp

from stormwatch.core.features import HashedNgrams, fit_idf


def test_counts_match_a_direct_python_count():
    """The vectorised rolling hash must count exactly what a plain loop counts."""
    featurizer = HashedNgrams(bits=20, char_min=3, char_max=4, word_n=2)
    texts = ["abcab cab!", "", "héllo wörld 😂😂", "a"]
    counts = featurizer.counts(texts).toarray()
    assert counts.shape == (4, 1 << 20)
    expected_totals = []
    for text in texts:
        chars = sum(max(len(text) - n + 1, 0) for n in (3, 4))
        words = {
            "abcab cab!": ["abcab", "cab", "!"],
            "": [],
            "héllo wörld 😂😂": ["héllo", "wörld", "😂", "😂"],
            "a": ["a"],
        }[text]
        expected_totals.append(chars + len(words) + max(len(words) - 1, 0))
    assert counts.sum(axis=1).tolist() == expected_totals
    # Same n-gram, same bucket, across posts: "cab" appears twice in post 0.
    assert counts[0].max() >= 2


def test_features_do_not_leak_across_posts_and_are_order_independent():
    featurizer = HashedNgrams(bits=18)
    alone = featurizer.counts(["hello there"])
    together = featurizer.counts(["xyz", "hello there", "abc"])
    assert (alone != together[1]).nnz == 0


def test_transform_is_l2_normalised_tfidf():
    featurizer = HashedNgrams(bits=16)
    texts = ["good good day", "bad day", ""]
    idf = fit_idf(featurizer.counts(texts))
    matrix = featurizer.transform(texts, idf)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[:2], 1.0, rtol=1e-5)
    assert norms[2] == 0
    assert sp.issparse(matrix) and matrix.dtype == np.float32


def test_single_characters_count_when_asked():
    featurizer = HashedNgrams(bits=20, char_min=1, char_max=2, word_n=1)
    counts = featurizer.counts(["abca", "zz"]).toarray()
    # "abca": 4 characters + 3 bigrams + 1 word; "zz": 2 + 1 + 1.
    assert counts.sum(axis=1).tolist() == [8, 4]
    assert counts[1].max() >= 2  # "z" twice
