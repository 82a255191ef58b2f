"""Geometry: centres vs the published table, arrangement round trips, ground distance."""
from __future__ import annotations

import numpy as np
import pytest

from econt.geometry import (
    CELL_PITCH_CM,
    cell_centres,
    cell_uv,
    from_443,
    from_8x8,
    ground_distance,
    mask_8x8,
    to_443,
    to_8x8,
)
from econt.errors import DataError


def test_centres_match_shared_table(shared):
    ref = np.loadtxt(shared / "geometry" / "trigger_cell_centres.csv", delimiter=",", skiprows=1)
    assert ref.shape == (48, 3)
    np.testing.assert_array_equal(ref[:, 0], np.arange(48))
    assert np.abs(cell_centres() - ref[:, 1:]).max() < 1e-4


def test_neighbours_within_sector_are_one_pitch_apart():
    xy = cell_centres()
    uv = cell_uv()
    for s in range(3):
        sec = slice(16 * s, 16 * s + 16)
        d = np.linalg.norm(xy[sec, None] - xy[None, sec], axis=-1)
        duv = uv[sec, None] - uv[None, sec]
        # lattice neighbours: (±1,0), (0,±1) and one diagonal of the hexagonal lattice
        neighbour = (np.abs(duv).sum(-1) == 1)
        assert np.allclose(d[neighbour], CELL_PITCH_CM, atol=1e-5)
    assert len({tuple(p) for p in np.round(xy, 4)}) == 48


def test_8x8_round_trip_and_zero_pixels():
    rng = np.random.default_rng(0)
    x = rng.random((7, 48))
    img = to_8x8(x)
    assert img.shape == (7, 8, 8, 1)
    np.testing.assert_array_equal(from_8x8(img), x)
    np.testing.assert_array_equal(img[:, ~mask_8x8(), 0], 0)
    assert mask_8x8().sum() == 48
    # the 16 fixed zeros are the bottom-right quadrant
    assert not mask_8x8()[4:, 4:].any()


def test_443_round_trip_and_layout():
    x = np.arange(48.0)
    img = to_443(x)
    assert img[1, 2, 1] == 16 + 4 * 1 + 2
    np.testing.assert_array_equal(from_443(img), x)


def test_arrangement_rejects_wrong_shape():
    with pytest.raises(DataError, match="48"):
        to_8x8(np.zeros((2, 47)))


def test_ground_distance_properties():
    d = ground_distance()
    assert d.shape == (48, 48)
    np.testing.assert_allclose(d, d.T)
    assert np.all(np.diag(d) == 0)
    # neighbouring cells are 2 apart (distance unit = half a trigger-cell pitch)
    assert np.isclose(d[0, 1], 2.0) and np.isclose(d[0, 4], 2.0)
    assert ground_distance() is ground_distance()  # cached


def test_event_display_writes_png(tmp_path):
    from econt.geometry.display import save_event_displays

    out = tmp_path / "ev.png"
    save_event_displays(out, [np.arange(48.0), np.zeros(48)], titles=["ramp", "empty"])
    assert out.stat().st_size > 5000
