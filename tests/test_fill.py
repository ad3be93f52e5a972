import numpy as np

from scenecraft.core.fill import fill_from_around


def test_fill_from_around_fills_the_hole_from_its_surroundings_and_not_from_ignored_pixels():
    # a left-to-right grade, a dark hole in the middle and a bright object beside it
    grade = np.broadcast_to(np.linspace(40, 200, 32)[None, :, None], (32, 32, 3))
    image = grade.round().astype(np.uint8).copy()
    hole = np.zeros((32, 32), bool)
    hole[10:20, 10:20] = True
    bright = np.zeros((32, 32), bool)
    bright[10:20, 20:24] = True
    image[hole], image[bright] = 0, 255

    out = fill_from_around(image, hole, ignore=bright)
    assert out.dtype == np.float32 and out.shape == image.shape
    assert np.abs(out[hole] - grade[hole]).max() <= 2  # the grade, not the dark nor the bright
    assert (out[~hole] == image[~hole]).all()  # nothing else moved, the ignored pixels included
    bled = fill_from_around(image, hole)  # drawing from the bright object pulls the fill up
    assert (bled[hole] - out[hole]).max() > 10
    nothing = np.zeros((32, 32), bool)
    assert (fill_from_around(image, nothing) == image).all()
    assert (fill_from_around(image, ~nothing) == image).all()  # no pixel left to fill from
