"""The layout diff yields the right typed ops for hand-made layouts."""

from scenecraft.core.contracts import Detection, Layout, LayoutItem
from scenecraft.sld.diff import layout_diff


def det(label, box):
    return Detection(label, box, 0.9)


def lay(*items):
    return Layout(items=[LayoutItem(label=label, box=box) for label, box in items])


A = [0.1, 0.1, 0.2, 0.2]
B = [0.6, 0.1, 0.2, 0.2]
C = [0.1, 0.6, 0.2, 0.2]


def test_matching_layout_needs_no_ops():
    assert layout_diff([det("red circle", A)], lay(("red circle #1", A))) == []


def test_each_kind_of_op():
    detected = [det("red circle", A), det("blue star", B), det("green heart", C)]
    target = lay(
        ("red circle #1", A), ("yellow star #1", B), ("green heart #1", [0.6, 0.6, 0.2, 0.2])
    )
    ops = {(o.op, o.label) for o in layout_diff(detected, target)}
    assert ops == {("recolor", "blue star"), ("move", "green heart")}

    extra = layout_diff([det("red circle", A), det("red circle", B)], lay(("red circle #1", A)))
    assert [(o.op, o.old_box) for o in extra] == [("delete", B)]

    missing = layout_diff([], lay(("pink square #1", C)))
    assert [(o.op, o.label, o.new_box) for o in missing] == [("add", "pink square", C)]


def test_a_recolor_needs_the_same_noun_and_place():
    # a star where the target wants a circle is a delete plus an add, not a recolor
    ops = layout_diff([det("red star", A)], lay(("red circle #1", A)))
    assert sorted(o.op for o in ops) == ["add", "delete"]


def test_moves_pair_each_object_with_its_nearest_target():
    detected = [det("red circle", [0.0, 0.0, 0.1, 0.1]), det("red circle", [0.8, 0.8, 0.1, 0.1])]
    target = lay(("red circle #1", [0.85, 0.6, 0.1, 0.1]), ("red circle #2", [0.05, 0.3, 0.1, 0.1]))
    moves = {tuple(o.old_box): o.new_box for o in layout_diff(detected, target)}
    assert moves[(0.8, 0.8, 0.1, 0.1)] == [0.85, 0.6, 0.1, 0.1]
    assert moves[(0.0, 0.0, 0.1, 0.1)] == [0.05, 0.3, 0.1, 0.1]


def test_an_edits_later_round_only_finishes_what_the_first_round_started():
    from scenecraft.sld.pipeline import unfinished

    # the instruction moved the green heart to D; the red circle and blue star were left alone
    D = [0.6, 0.6, 0.2, 0.2]
    target = lay(("red circle #1", A), ("blue star #1", B), ("green heart #1", D))
    first = layout_diff([det("red circle", A), det("blue star", B), det("green heart", C)], target)
    assert [(o.op, o.label) for o in first] == [("move", "green heart")]
    # round 2: the heart landed a little off, the star's rim reads a little wider, and the star
    # is read as a heart of another colour once: only the heart's move is worth another round
    later = [
        det("red circle", A),
        det("blue star", [0.6, 0.1, 0.24, 0.2]),
        det("green heart", [0.55, 0.62, 0.2, 0.2]),
    ]
    assert [(o.op, o.label) for o in unfinished(layout_diff(later, target), first, target)] == [
        ("move", "green heart")
    ]
    # landed a rim's width off its target (IoU 0.75): done, not moved again
    near = [det("red circle", A), det("blue star", B), det("green heart", [0.62, 0.61, 0.2, 0.2])]
    assert [o.op for o in layout_diff(near, target)] == ["move"]
    assert unfinished(layout_diff(near, target), first, target) == []
    misread = [det("red circle", A), det("purple heart", B), det("green heart", D)]
    ops = layout_diff(misread, target)
    assert ops and unfinished(ops, first, target) == []
