import numpy as np

from stormwatch.models.artifact import digest, read_npz, write_npz


def test_npz_round_trip_is_byte_identical_and_pickle_free(tmp_path):
    arrays = {"w": np.arange(12, dtype=np.float16).reshape(3, 4), "b": np.ones(3, np.float32)}
    write_npz(tmp_path / "a.npz", arrays)
    write_npz(tmp_path / "b.npz", dict(reversed(list(arrays.items()))))
    assert digest(tmp_path / "a.npz") == digest(tmp_path / "b.npz")
    back = read_npz(tmp_path / "a.npz")
    assert back.keys() == arrays.keys()
    np.testing.assert_array_equal(back["w"], arrays["w"])
    assert back["w"].dtype == np.float16
