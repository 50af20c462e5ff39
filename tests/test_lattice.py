import numpy as np

from infiniscape.models.contract import CellRange, FieldSpec
from infiniscape.models.lattice import HashedLatents, hashed_normal, stream_key

LOCAL = FieldSpec("local", 16, 8, "local")


def test_cells_do_not_depend_on_the_requested_range():
    lat = HashedLatents(7)
    big = lat.cells(LOCAL, CellRange(-10, -5, 10, 5))
    small = lat.cells(LOCAL, CellRange(-3, 0, 2, 4))
    assert np.array_equal(small, big[:, 5:9, 7:12])


def test_cells_are_identical_across_instances_and_request_order():
    a, b = HashedLatents(3), HashedLatents(3)
    b.cells(LOCAL, CellRange(100, 100, 120, 130))  # unrelated request first
    r = CellRange(-2, -2, 3, 3)
    assert np.array_equal(a.cells(LOCAL, r), b.cells(LOCAL, r))


def test_seed_and_field_select_independent_streams():
    r = CellRange(0, 0, 16, 16)
    base = HashedLatents(1).cells(LOCAL, r)
    other_seed = HashedLatents(2).cells(LOCAL, r)
    other_field = HashedLatents(1).cells(FieldSpec("noise0", 16, 8, "noise"), r)
    for other in (other_seed, other_field):
        assert abs(np.corrcoef(base.ravel(), other.ravel())[0, 1]) < 0.05


def test_values_are_standard_normal():
    v = hashed_normal(stream_key(0, "local"), CellRange(0, 0, 200, 200), 4).ravel()
    assert v.dtype == np.float32
    assert abs(v.mean()) < 0.01 and abs(v.std() - 1) < 0.01
    assert abs(np.mean(v**4) - 3) < 0.05  # Gaussian kurtosis, not uniform or clipped
    # neighbouring cells and channels are uncorrelated
    grid = v.reshape(4, 200, 200)
    assert abs(np.corrcoef(grid[0, :, :-1].ravel(), grid[0, :, 1:].ravel())[0, 1]) < 0.02
    assert abs(np.corrcoef(grid[0].ravel(), grid[1].ravel())[0, 1]) < 0.02


def test_known_values_are_stable_across_releases():
    # A scene file must reproduce the same canvas forever: pin a few values of the hash.
    v = HashedLatents(7).cells(LOCAL, CellRange(-1, 2, 1, 3))[:2]
    np.testing.assert_allclose(v.ravel(), KNOWN, rtol=0, atol=1e-6)


KNOWN = [-0.2303633987903595, 1.5076240301132202, 0.1494665890932083, -0.07004816085100174]
