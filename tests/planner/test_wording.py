"""Other people's wording: prompts written as users write them, apart from the parser's grammar.

Each case says what a reader would take the prompt to mean. Where the spec cannot say it (five
in a circle, part of a group) or a word is not one the parser can know, the case expects a
warning naming what was ignored, never an object made of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

import scenecraft
from scenecraft.core.errors import InvalidParams, PlannerError
from scenecraft.planner.geometry import layout_problems
from scenecraft.planner.offline import OfflinePlanner
from scenecraft.planner.paraphrase import paraphrase
from scenecraft.shapesworld.benchmark import CATEGORIES, prompt_set
from scenecraft.shapesworld.detect import detect
from scenecraft.shapesworld.grammar import SHAPES
from scenecraft.shapesworld.judge import judge
from scenecraft.shapesworld.prompts import parse_prompt, scene_from_spec
from scenecraft.shapesworld.render import render_scene
from scenecraft.shapesworld.words import COMMON_NOUNS


@dataclass(frozen=True)
class Meant:
    objects: tuple[tuple[int, str], ...]  # (count, "attributes name") in order of mention
    relations: tuple[tuple[int, str, int], ...] = ()
    negations: tuple[str, ...] = ()
    warned: tuple[str, ...] = ()  # one quoted fragment per warning the parse must give
    places: tuple[str | None, ...] = ()  # each object's place on the canvas (none said: all None)


# the relations of a grid's members, written out: 0 1 / 2 3, and 0 1 2 / 3 4 5
GRID_2X2 = ((0, "left of", 1), (2, "left of", 3), (0, "above", 2), (1, "above", 3))
GRID_2X3 = (
    (0, "left of", 1), (1, "left of", 2), (3, "left of", 4), (4, "left of", 5),
    (0, "above", 3), (1, "above", 4), (2, "above", 5),
)  # fmt: skip

WORDING: dict[str, Meant] = {
    # terse
    "red star": Meant(((1, "red star"),)),
    "3 green hexagons": Meant(((3, "green hexagon"),)),
    "blue heart, yellow circle": Meant(((1, "blue heart"), (1, "yellow circle"))),
    "2 squares left of star": Meant(((2, "square"), (1, "star")), ((0, "left of", 1),)),
    "pink triangle above cyan square": Meant(
        ((1, "pink triangle"), (1, "cyan square")), ((0, "above", 1),)
    ),
    "stars x4, orange": Meant(((4, "orange star"),)),
    "red circles x3": Meant(((3, "red circle"),)),
    "stars: 3, circles: 2": Meant(((3, "star"), (2, "circle"))),
    "red hearts (4)": Meant(((4, "red heart"),)),
    "blue triangle left, red triangle right": Meant(
        ((1, "blue triangle"), (1, "red triangle")), ((0, "left of", 1),)
    ),
    "two squares, one on top of the other": Meant(
        ((1, "square"), (1, "square")), ((0, "above", 1),)
    ),
    "two circles next to each other": Meant(((1, "circle"), (1, "circle")), ((0, "next to", 1),)),
    "two blue hexagons, one to the left of the other, and a star": Meant(
        ((1, "blue hexagon"), (1, "blue hexagon"), (1, "star")), ((0, "left of", 1),)
    ),
    "three hearts, one above the other": Meant(
        ((1, "heart"), (1, "heart"), (1, "heart")), ((0, "above", 1), (1, "above", 2))
    ),
    "six hearts, one above the other": Meant(((6, "heart"),), warned=("'one above the other'",)),
    # a row or a column: the group said last in a chain, or else what was said, in order
    "three blue stars in a row": Meant(
        ((1, "blue star"), (1, "blue star"), (1, "blue star")),
        ((0, "left of", 1), (1, "left of", 2)),
    ),
    "two squares lined up": Meant(((1, "square"), (1, "square")), ((0, "left of", 1),)),
    "4 hearts in a straight line": Meant(
        ((1, "heart"),) * 4, ((0, "left of", 1), (1, "left of", 2), (2, "left of", 3))
    ),
    "three circles side by side": Meant(
        ((1, "circle"),) * 3, ((0, "left of", 1), (1, "left of", 2))
    ),
    "a red circle, a blue square and a green star in a row": Meant(
        ((1, "red circle"), (1, "blue square"), (1, "green star")),
        ((0, "left of", 1), (1, "left of", 2)),
    ),
    "put a heart and a star in a vertical line": Meant(
        ((1, "heart"), (1, "star")), ((0, "above", 1),)
    ),
    "three triangles in a column, right of a square": Meant(
        ((1, "triangle"), (1, "triangle"), (1, "triangle"), (1, "square")),
        (
            (0, "above", 1),
            (1, "above", 2),
            (0, "right of", 3),
            (1, "right of", 3),
            (2, "right of", 3),
        ),
    ),
    "seven stars in a row": Meant(((7, "star"),), warned=("'in a row'",)),
    "a lone star in a row": Meant(((1, "star"),), warned=("'in a row'",)),
    "a star side by side": Meant(((1, "star"),), warned=("'side by side'",)),
    # one of a row or column named by its place
    "three squares in a row, the middle one red": Meant(
        ((1, "square"), (1, "red square"), (1, "square")), ((0, "left of", 1), (1, "left of", 2))
    ),
    "four blue stars in a column, with the top one yellow": Meant(
        ((1, "yellow star"),) + ((1, "blue star"),) * 3,
        ((0, "above", 1), (1, "above", 2), (2, "above", 3)),
    ),
    "two circles side by side, the rightmost one is green": Meant(
        ((1, "circle"), (1, "green circle")), ((0, "left of", 1),)
    ),
    "a star, the middle one red": Meant(((1, "star"),), warned=("'the middle one red'",)),
    "four squares in a row, the middle one red": Meant(
        ((1, "square"),) * 4,
        ((0, "left of", 1), (1, "left of", 2), (2, "left of", 3)),
        warned=("'the middle one red'",),
    ),
    "three hearts stacked, the left one red": Meant(
        ((1, "heart"),) * 3, ((0, "above", 1), (1, "above", 2)), warned=("'the left one red'",)
    ),
    # a group in so many colours: parts as even as the count allows, the colours chosen
    "four squares in two colours": Meant(
        ((2, "red square"), (2, "blue square")), warned=("chose red, blue for 'two colours'",)
    ),
    "5 stars in 2 different colours": Meant(
        ((3, "red star"), (2, "blue star")), warned=("chose red, blue",)
    ),
    "six circles in three colors, no red": Meant(
        ((2, "blue circle"), (2, "green circle"), (2, "yellow circle")),
        negations=("red circle",),
        warned=("chose blue, green, yellow",),
    ),
    "two hearts in two colours": Meant(
        ((1, "red heart"), (1, "blue heart")), warned=("chose red, blue",)
    ),
    "a heart in two colours": Meant(((1, "heart"),), warned=("'two colours'",)),
    "four red squares in two colours": Meant(((4, "red square"),), warned=("'two colours'",)),
    # around, surrounded by, flanked by, on either side: a pair with the object between them
    "a blue star with two yellow circles around it": Meant(
        ((1, "blue star"), (1, "yellow circle"), (1, "yellow circle")), ((0, "between", 1),)
    ),
    "a green square surrounded by 2 red circles": Meant(
        ((1, "green square"), (1, "red circle"), (1, "red circle")), ((0, "between", 1),)
    ),
    "two hearts encircling a star": Meant(
        ((1, "heart"), (1, "star"), (1, "heart")), ((1, "between", 0),)
    ),
    "a star flanked by two hearts": Meant(
        ((1, "star"), (1, "heart"), (1, "heart")), ((0, "between", 1),)
    ),
    "a pink circle with two squares on either side of it": Meant(
        ((1, "pink circle"), (1, "square"), (1, "square")), ((0, "between", 1),)
    ),
    "two circles on each side of a star": Meant(
        ((1, "circle"), (1, "star"), (1, "circle")), ((1, "between", 0),)
    ),
    "a purple hexagon with a square on each side": Meant(
        ((1, "purple hexagon"), (1, "square")), warned=("'on either side'",)
    ),
    "a green square surrounded by four red circles": Meant(
        ((1, "green square"),) + ((1, "red circle"),) * 4,
        ((1, "left of", 0), (2, "right of", 0), (3, "above", 0), (4, "below", 0)),
    ),
    "three circles around a star": Meant(
        ((1, "circle"), (1, "star"), (1, "circle"), (1, "circle")),
        ((0, "left of", 1), (2, "right of", 1), (3, "above", 1)),
    ),
    "five hearts around a star": Meant(((5, "heart"), (1, "star")), warned=("'around'",)),
    "a star surrounded by a circle": Meant(
        ((1, "star"), (1, "circle")), warned=("'surrounded by'",)
    ),
    "around 3 circles": Meant(((3, "circle"),), warned=("'around'",)),
    "a round shape of purple colour": Meant(((1, "purple circle"),)),
    # stacked: a column, or on top of what follows
    "two squares stacked": Meant(((1, "square"), (1, "square")), ((0, "above", 1),)),
    "3 circles stacked up": Meant(
        ((1, "circle"), (1, "circle"), (1, "circle")), ((0, "above", 1), (1, "above", 2))
    ),
    "a red square stacked on a blue square": Meant(
        ((1, "red square"), (1, "blue square")), ((0, "above", 1),)
    ),
    "two hexagons stacked on top of one another, right of a star": Meant(
        ((1, "hexagon"), (1, "hexagon"), (1, "star")),
        ((0, "above", 1), (0, "right of", 2), (1, "right of", 2)),
    ),
    # a pair told apart after what it relates to
    "two red stars left of a heart, one above the other": Meant(
        ((1, "red star"), (1, "heart"), (1, "red star")),
        ((0, "left of", 1), (2, "left of", 1), (0, "above", 2)),
    ),
    "a square and a triangle, one on top of another": Meant(
        ((1, "square"), (1, "triangle")), warned=("'one above the other'",)
    ),
    # the middle: between two objects, or between the sides said of others
    "a star in the middle of two squares": Meant(
        ((1, "star"), (1, "square"), (1, "square")), ((0, "between", 1),)
    ),
    "a circle in the middle, a star on the left and a heart on the right": Meant(
        ((1, "circle"), (1, "star"), (1, "heart")), ((1, "left of", 2), (0, "between", 1))
    ),
    "heart on the left, hexagon in the centre": Meant(
        ((1, "heart"), (1, "hexagon")), ((0, "left of", 1),)
    ),
    # colours left to the parser: told apart or alike, chosen from those the prompt leaves free
    "three circles of different colours": Meant(
        ((1, "red circle"), (1, "blue circle"), (1, "green circle")), warned=("chose red, blue",)
    ),
    "two differently coloured stars above a red square": Meant(
        ((1, "blue star"), (1, "green star"), (1, "red square")),
        ((0, "above", 2), (1, "above", 2)),
        warned=("chose blue, green for 'different colours'",),
    ),
    "a pair of hearts, each a different colour, but no blue hearts": Meant(
        ((1, "red heart"), (1, "green heart")),
        negations=("blue heart",),
        warned=("chose red, green",),
    ),
    "two squares of the same colour": Meant(((2, "red square"),), warned=("chose red",)),
    "a purple circle and a star of the same colour": Meant(
        ((1, "purple circle"), (1, "purple star"))
    ),
    "a circle, a star and a heart, all the same colour": Meant(
        ((1, "red circle"), (1, "red star"), (1, "red heart")), warned=("chose red",)
    ),
    "a red circle and a blue star, both the same colour": Meant(
        ((1, "red circle"), (1, "blue star")), warned=("'the same colour'",)
    ),
    "a star of different colours": Meant(((1, "star"),), warned=("'different colours'",)),
    "five circles of various colours": Meant(
        tuple((1, f"{c} circle") for c in ("red", "blue", "green", "yellow", "purple")),
        warned=("'different colours'",),
    ),
    # parts told with "one", sides said "far" or as a heading, "both" before a relation
    "two stars, a big one and a small one": Meant(((1, "large star"), (1, "small star"))),
    "two red circles and a blue one": Meant(((2, "red circle"), (1, "blue circle"))),
    "two squares, a red one and a blue one, left of a star": Meant(
        ((1, "red square"), (1, "blue square"), (1, "star")),
        ((0, "left of", 2), (1, "left of", 2)),
    ),
    "a tiny purple heart far left of a huge green star": Meant(
        ((1, "small purple heart"), (1, "large green star")), ((0, "left of", 1),)
    ),
    "a blue circle on the far left and a red square on the far right": Meant(
        ((1, "blue circle"), (1, "red square")), ((0, "left of", 1),)
    ),
    "left: a red star. right: a blue heart.": Meant(
        ((1, "red star"), (1, "blue heart")), ((0, "left of", 1),)
    ),
    "a square, then a circle to its right, then a star to the circle's right": Meant(
        ((1, "square"), (1, "circle"), (1, "star")), ((1, "right of", 0), (2, "right of", 1))
    ),
    "a red triangle and a red square, both to the left of a blue circle": Meant(
        ((1, "red triangle"), (1, "red square"), (1, "blue circle")),
        ((0, "left of", 2), (1, "left of", 2)),
    ),
    "everything but hearts: a star and a square": Meant(
        ((1, "star"), (1, "square")), negations=("heart",)
    ),
    # sizes and shades said loosely, orders, corners, "in between" at the end, "the other"
    "could you pls do a lil red heart next to a massive yellow star": Meant(
        ((1, "small red heart"), (1, "large yellow star")), ((0, "next to", 1),)
    ),
    "a hexagon that's green, positioned below a pinkish square": Meant(
        ((1, "green hexagon"), (1, "pink square")), ((0, "below", 1),), warned=("'pinkish'",)
    ),
    "a dark blue square and a light green circle": Meant(
        ((1, "blue square"), (1, "green circle")), warned=("'dark blue'", "'light green'")
    ),
    "a star on a light gray background": Meant(((1, "star"),)),
    "two purple hexagons with an orange circle in between": Meant(
        ((1, "purple hexagon"), (1, "orange circle"), (1, "purple hexagon")),
        ((1, "between", 0),),
    ),
    "two stars with a circle in the middle": Meant(
        ((1, "star"), (1, "circle"), (1, "star")), ((1, "between", 0),)
    ),
    "a star, a heart, and a circle, from left to right": Meant(
        ((1, "star"), (1, "heart"), (1, "circle")), ((0, "left of", 1), (1, "left of", 2))
    ),
    "from top to bottom: a red circle, a blue square and a green star": Meant(
        ((1, "red circle"), (1, "blue square"), (1, "green star")),
        ((0, "above", 1), (1, "above", 2)),
    ),
    "a red heart at the top left and a blue star at the bottom right": Meant(
        ((1, "red heart"), (1, "blue star")), ((0, "left of", 1), (0, "above", 1))
    ),
    "a red square in the top right corner": Meant(((1, "red square"),), places=("top right",)),
    "a green circle, with a red square placed right next to it": Meant(
        ((1, "green circle"), (1, "red square")), ((1, "next to", 0),)
    ),
    "a couple of circles, one red, the other blue": Meant(((1, "red circle"), (1, "blue circle"))),
    "several green circles but no squares whatsoever": Meant(
        ((2, "green circle"),), negations=("square",)
    ),
    "A BLUE STAR!!!": Meant(((1, "blue star"),)),
    "a square. a circle. a star.": Meant(((1, "square"), (1, "circle"), (1, "star"))),
    # chatty
    "hey, could you draw me a purple heart next to a green star please?": Meant(
        ((1, "purple heart"), (1, "green star")), ((0, "next to", 1),)
    ),
    "I'd love to see two orange squares, thanks!": Meant(((2, "orange square"),)),
    "so what I want is basically three red circles and that's it": Meant(((3, "red circle"),)),
    "Can you make a scene with a blue star above a red square?": Meant(
        ((1, "blue star"), (1, "red square")), ((0, "above", 1),)
    ),
    "ok so like, one yellow heart and one green circle, nothing else": Meant(
        ((1, "yellow heart"), (1, "green circle"))
    ),
    "yo gimme 3 pink hearts lol": Meant(((3, "pink heart"),)),
    "i want a red square on the left and a green circle on the right": Meant(
        ((1, "red square"), (1, "green circle")), ((0, "left of", 1),)
    ),
    "gimme a heart thats red": Meant(((1, "red heart"),)),
    "to the right of a red heart, put a blue circle": Meant(
        ((1, "red heart"), (1, "blue circle")), ((1, "right of", 0),)
    ),
    "a star, and beneath it a red square": Meant(
        ((1, "star"), (1, "red square")), ((1, "below", 0),)
    ),
    # filler words
    "just some blue squares please": Meant(((2, "blue square"),)),
    "Please just draw a single red star.": Meant(((1, "red star"),)),
    "only four pink circles, nothing more": Meant(((4, "pink circle"),)),
    "two red circles and nothing else": Meant(((2, "red circle"),)),
    "Could you kindly render three orange triangles for me?": Meant(((3, "orange triangle"),)),
    "absolutely no hearts at all, just two cyan triangles": Meant(
        ((2, "cyan triangle"),), negations=("heart",)
    ),
    # one-letter typos
    "a red cirle": Meant(((1, "red circle"),), warned=("'cirle' as 'circle'",)),
    "two bleu stars": Meant(((2, "blue star"),), warned=("'bleu' as 'blue'",)),
    "three orange hexagns": Meant(((3, "orange hexagon"),), warned=("'hexagns' as 'hexagons'",)),
    "a purple traingle": Meant(((1, "purple triangle"),), warned=("'traingle' as 'triangle'",)),
    "a green squre below a pink heart": Meant(
        ((1, "green square"), (1, "pink heart")),
        ((0, "below", 1),),
        warned=("'squre' as 'square'",),
    ),
    "two yellow harts": Meant(((2, "yellow heart"),), warned=("'harts' as 'hearts'",)),
    "a greeen circle": Meant(((1, "green circle"),), warned=("'greeen' as 'green'",)),
    # as near to 'grey' as to 'green': too uncertain to guess
    "a gren circle": Meant(((1, "circle"),), warned=("'gren'",)),
    # British spellings
    "a grey star and a red heart": Meant(((1, "gray star"), (1, "red heart"))),
    "three circles coloured pink": Meant(((3, "pink circle"),)),
    "a square of blue colour": Meant(((1, "blue square"),)),
    "two hexagons in the colour orange": Meant(((2, "orange hexagon"),)),
    "a couple of grey squares in the centre": Meant(((2, "gray square"),), places=("centre",)),
    # plurals
    "hearts and stars": Meant(((2, "heart"), (2, "star"))),
    "circles above squares": Meant(((2, "circle"), (2, "square")), ((0, "above", 1),)),
    "five stars that are yellow": Meant(((5, "yellow star"),)),
    # a couple of, a pair of
    "a couple of hexagons": Meant(((2, "hexagon"),)),
    "a pair of red squares next to a couple of blue stars": Meant(
        ((2, "red square"), (2, "blue star")), ((0, "next to", 1),)
    ),
    "a couple pink hearts": Meant(((2, "pink heart"),)),
    # no ... at all
    "a green circle and no stars at all": Meant(((1, "green circle"),), negations=("star",)),
    "no red squares at all, but three blue ones": Meant(
        ((3, "blue square"),), negations=("red square",)
    ),
    "don't draw any circles, just a pink star": Meant(((1, "pink star"),), negations=("circle",)),
    "Two purple squares, no hearts or stars": Meant(
        ((2, "purple square"),), negations=("heart", "star")
    ),
    # descriptions that come after the objects
    "one big circle and one small circle, both red": Meant(
        ((1, "large red circle"), (1, "small red circle"))
    ),
    "hexagons, three of them, all purple": Meant(((3, "purple hexagon"),)),
    "a tiny yellow star above a huge green hexagon": Meant(
        ((1, "small yellow star"), (1, "large green hexagon")), ((0, "above", 1),)
    ),
    # what the spec cannot say, or words the parser cannot know: named in a warning
    "five stars in a circle": Meant(((5, "star"),), warned=("'in a circle'",)),
    "a triangle in the middle": Meant(((1, "triangle"),), places=("centre",)),
    "a star in the middle of the picture": Meant(((1, "star"),), places=("centre",)),
    "one lonely triangle": Meant(((1, "triangle"),), warned=("'lonely'",)),
    "a blu circle": Meant(((1, "circle"),), warned=("'blu'",)),
    "a red dragon and a blue square": Meant(((1, "blue square"),), warned=("'dragon'",)),
    # a group told in parts, and colours whose noun comes once at the end
    "two circles: one red, one blue": Meant(((1, "red circle"), (1, "blue circle"))),
    "four stars, two red and two blue, left of a heart": Meant(
        ((2, "red star"), (2, "blue star"), (1, "heart")), ((0, "left of", 2), (1, "left of", 2))
    ),
    "a heart right of 3 squares, 1 green and 2 pink": Meant(
        ((1, "heart"), (1, "green square"), (2, "pink square")),
        ((0, "right of", 1), (0, "right of", 2)),
    ),
    "a red and a blue circle": Meant(((1, "red circle"), (1, "blue circle"))),
    "a star above a red and a blue circle": Meant(
        ((1, "star"), (1, "red circle"), (1, "blue circle")), ((0, "above", 1), (0, "above", 2))
    ),
    "a red and a blue circle left of two squares, one green, one pink": Meant(
        ((1, "red circle"), (1, "blue circle"), (1, "green square"), (1, "pink square")),
        ((0, "left of", 2), (0, "left of", 3), (1, "left of", 2), (1, "left of", 3)),
    ),
    "a big, a medium and a small hexagon": Meant(
        ((1, "large hexagon"), (1, "medium hexagon"), (1, "small hexagon"))
    ),
    "two hearts, one red and one blue, and a star": Meant(
        ((1, "red heart"), (1, "blue heart"), (1, "star"))
    ),
    "a lilac hexagon and a navy square": Meant(((1, "purple hexagon"), (1, "blue square"))),
    "half a dozen stars": Meant(((6, "star"),)),
    # a bound on a count is read as the count, with a warning ("no more than" drew none)
    "no more than three circles": Meant(((3, "circle"),), warned=("'no more than'",)),
    "at least two stars and no hearts": Meant(
        ((2, "star"),), negations=("heart",), warned=("'at least'",)
    ),
    "a star that isn't yellow": Meant(((1, "star"),), negations=("yellow star",)),
    "a red circle that is not big": Meant(((1, "red circle"),), warned=("'not large'",)),
    "a blue square and a blue circle, the square on the left": Meant(
        ((1, "blue square"), (1, "blue circle")), ((0, "left of", 1),)
    ),
    "neither hearts nor circles, only a star": Meant(((1, "star"),), negations=("heart", "circle")),
    "an orange star below and to the right of a blue heart": Meant(
        ((1, "orange star"), (1, "blue heart")), ((0, "below", 1), (0, "right of", 1))
    ),
    "a square to the upper left of a circle": Meant(
        ((1, "square"), (1, "circle")), ((0, "above", 1), (0, "left of", 1))
    ),
    # parts that do not add up to the group stay unsaid, named in a warning
    "three circles: two red": Meant(((3, "circle"),), warned=("'two red'",)),
    "two red circles and a blue": Meant(((2, "red circle"),), warned=("'a blue'",)),
    "4 triangles, 2 of them green": Meant(((4, "triangle"),), warned=("'2 of them green'",)),
    # between two of a kind: one on each side
    "a blue circle between two red squares": Meant(
        ((1, "blue circle"), (1, "red square"), (1, "red square")), ((0, "between", 1),)
    ),
    "two stars with a circle between them": Meant(
        ((1, "star"), (1, "circle"), (1, "star")), ((1, "between", 0),)
    ),
    "a star on the left": Meant(((1, "star"),), places=("left",)),
    # a place on the canvas, said every way
    "a heart in the bottom-left": Meant(((1, "heart"),), places=("bottom left",)),
    "a hexagon in the lower right": Meant(((1, "hexagon"),), places=("bottom right",)),
    "a square in the upper right hand corner": Meant(((1, "square"),), places=("top right",)),
    "pink star, top left": Meant(((1, "pink star"),), places=("top left",)),
    "top right: a green heart": Meant(((1, "green heart"),), places=("top right",)),
    "a circle near the top": Meant(((1, "circle"),), places=("top",)),
    "three triangles in a row along the bottom edge": Meant(
        ((1, "triangle"), (1, "triangle"), (1, "triangle")),
        ((0, "left of", 1), (1, "left of", 2)),
        places=("bottom", "bottom", "bottom"),
    ),
    "a centred red circle": Meant(((1, "red circle"),), places=("centre",)),
    "one blue circle, centered": Meant(((1, "blue circle"),), places=("centre",)),
    "three stars placed at the top left of the image": Meant(((3, "star"),), places=("top left",)),
    "two circles on the right side of the picture": Meant(((2, "circle"),), places=("right",)),
    "a yellow star, in the centre of the image, and two blue circles": Meant(
        ((1, "yellow star"), (2, "blue circle")), places=("centre", None)
    ),
    "a red circle, top left, and a blue star, bottom right": Meant(
        ((1, "red circle"), (1, "blue star")), ((0, "left of", 1), (0, "above", 1))
    ),
    "a heart on the left and a circle on the left too": Meant(
        ((1, "heart"), (1, "circle")), places=("left", "left")
    ),
    "a red star, a blue circle on the left, and a green heart": Meant(
        ((1, "red star"), (1, "blue circle"), (1, "green heart")), places=(None, "left", None)
    ),
    "a star up at the very top and a square, a circle": Meant(
        ((1, "star"), (1, "square"), (1, "circle")), places=("top", None, None)
    ),
    # a corner named by one side: that side, said so
    "a star in the left corner": Meant(
        ((1, "star"),), places=("left",), warned=("'the left corner' as 'the left'",)
    ),
    "a red heart in the right hand corner of the picture": Meant(
        ((1, "red heart"),), places=("right",), warned=("'the right corner'",)
    ),
    # grids: singles, each left of the next in its row and above the one below
    "four circles in a 2x2 grid": Meant(
        ((1, "circle"),) * 4,
        GRID_2X2,
    ),
    "a 2 by 2 grid of red squares": Meant(
        ((1, "red square"),) * 4,
        GRID_2X2,
    ),
    "hearts in two rows of three": Meant(
        ((1, "heart"),) * 6,
        GRID_2X3,
    ),
    "six stars arranged in a grid": Meant(
        ((1, "star"),) * 6,
        GRID_2X3,
    ),
    "stars in 3 columns of 2": Meant(
        ((1, "star"),) * 6,
        GRID_2X3,
    ),
    "a circle, a star, a heart and a square in a grid": Meant(
        ((1, "circle"), (1, "star"), (1, "heart"), (1, "square")),
        GRID_2X2,
    ),
    "three circles in a 2x2 grid": Meant(((3, "circle"),), warned=("holds 4, not 3",)),
    "five hearts in a grid": Meant(((5, "heart"),), warned=("5 objects make no grid",)),
    "a 4x4 grid of dots": Meant(((16, "circle"),), warned=("'in a 4x4 grid'",)),
    "a lone star in a grid": Meant(((1, "star"),), warned=("'in a grid'",)),
    # one inside another: both drawn, apart, and said so
    "a red circle inside a blue square": Meant(
        ((1, "red circle"), (1, "blue square")), warned=("'inside'",)
    ),
    "a heart in the middle of a square": Meant(
        ((1, "heart"), (1, "square")), warned=("'in the middle of'",)
    ),
    "a dog inside a house": Meant(((1, "dog"), (1, "house")), warned=("'inside'",)),
    # "nor" between colours: both of the shape after them
    "a square, no red nor blue triangles": Meant(
        ((1, "square"),), negations=("red triangle", "blue triangle")
    ),
    "neither red nor blue triangles, just a square": Meant(
        ((1, "square"),), negations=("red triangle", "blue triangle")
    ),
    "a star, no red or blue hearts": Meant(((1, "star"),), negations=("red heart", "blue heart")),
    # a pair said one a colour, then how they stand; a relation left hanging with two objects
    "two hexagons, one pink and one cyan, next to each other": Meant(
        ((1, "pink hexagon"), (1, "cyan hexagon")), ((0, "next to", 1),)
    ),
    "two circles next to each other, one red and one blue": Meant(
        ((1, "red circle"), (1, "blue circle")), ((0, "next to", 1),)
    ),
    "a circle and a square, with the circle above": Meant(
        ((1, "circle"), (1, "square")), ((0, "above", 1),)
    ),
    "blue circle left, green square middle, red star right": Meant(
        ((1, "blue circle"), (1, "green square"), (1, "red star")),
        ((0, "left of", 2), (1, "between", 0)),
    ),
    "five dots": Meant(((5, "circle"),)),
    "a triangle, a square and a hexagon, each a different colour": Meant(
        ((1, "red triangle"), (1, "blue square"), (1, "green hexagon")),
        warned=("chose red, blue, green",),
    ),
    "a blue star between two red hearts, all at the top": Meant(
        ((1, "blue star"), (1, "red heart"), (1, "red heart")),
        ((0, "between", 1),),
        places=("top", "top", "top"),
    ),
    "a red circle and a blue star, both at the bottom": Meant(
        ((1, "red circle"), (1, "blue star")), places=("bottom", "bottom")
    ),
    "everything in the top left corner: a star and a heart": Meant(
        ((1, "star"), (1, "heart")), places=("top left", "top left")
    ),
    "hearts: two red ones and a blue one": Meant(((2, "red heart"), (1, "blue heart"))),
    "three circles, two red ones and one blue one": Meant(((2, "red circle"), (1, "blue circle"))),
    "multiple lime triangles beneath a turquoise hexagon": Meant(
        ((2, "green triangle"), (1, "cyan hexagon")), ((0, "below", 1),)
    ),
    # a colour negated alone: nothing of it, but what is asked in it
    "two blue squares and nothing red": Meant(
        ((2, "blue square"),), negations=tuple(f"red {s}" for s in SHAPES)
    ),
    "a star and no green shapes": Meant(
        ((1, "star"),), negations=tuple(f"green {s}" for s in SHAPES)
    ),
    "a red star and no other red shapes at all": Meant(
        ((1, "red star"),), negations=tuple(f"red {s}" for s in SHAPES if s != "star")
    ),
    "two circles without any yellow in the picture": Meant(
        ((2, "circle"),), negations=tuple(f"yellow {s}" for s in SHAPES)
    ),
    "no red or blue squares, just a circle": Meant(
        ((1, "circle"),), negations=("red square", "blue square")
    ),
    "a star that is not red or blue": Meant(((1, "star"),), negations=("red star", "blue star")),
    "the left shape is a red star and the right shape is a blue circle": Meant(
        ((1, "red star"), (1, "blue circle")), ((0, "left of", 1),)
    ),
    "the top one is a green heart, the bottom one a yellow square": Meant(
        ((1, "green heart"), (1, "yellow square")), ((0, "above", 1),)
    ),
    "the upper one is a star and the lower one is a circle": Meant(
        ((1, "star"), (1, "circle")), ((0, "above", 1),)
    ),
    "a red circle and a star, in different colours": Meant(
        ((1, "red circle"), (1, "blue star")), warned=("chose blue",)
    ),
}


@pytest.mark.parametrize("prompt", list(WORDING))
def test_wording_is_read_as_a_user_means_it(prompt):
    meant, spec = WORDING[prompt], parse_prompt(prompt)
    assert [(o.count, o.phrase) for o in spec.objects] == list(meant.objects), spec
    assert {(r.subject, r.relation, r.object) for r in spec.relations} == set(meant.relations)
    assert [n.phrase for n in spec.negations] == list(meant.negations)
    assert [o.place for o in spec.objects] == list(meant.places or [None] * len(spec.objects))
    assert len(spec.warnings) == len(meant.warned), spec.warnings
    for fragment in meant.warned:
        assert any(fragment in w for w in spec.warnings), (fragment, spec.warnings)


@pytest.mark.parametrize(
    ("prompt", "unknown"),
    [
        ("two red circles and nothing else, capisce", "capisce"),
        ("a blue star, lol jk", "jk"),
        ("a heart with sparkles", "sparkles"),
        ("three wobbly squares", "wobbly"),
        ("a red heat", "heat"),
        ("a dragon", "dragon"),
        ("a glittery pentagon beside a circle", "pentagon"),
        ("the spaceship and two moons", "spaceship"),
    ],
)
def test_a_word_not_understood_is_named_and_never_an_object(prompt, unknown):
    spec = parse_prompt(prompt)
    assert all(o.name in SHAPES or o.name in COMMON_NOUNS for o in spec.objects), spec.objects
    assert not any(unknown in o.phrase for o in spec.objects + spec.negations)
    assert any(f"'{unknown}'" in w for w in spec.warnings), spec.warnings


def test_english_words_near_a_shape_or_colour_are_not_read_as_typos():
    for prompt in ("start with a red circle", "a stare", "greet a square", "a pint", "a blur"):
        spec = parse_prompt(prompt)
        assert [o.name for o in spec.objects if o.name in SHAPES] in ([], ["circle"], ["square"])
        assert not any(w.startswith("read ") for w in spec.warnings), (prompt, spec.warnings)


def test_everyday_nouns_stay_objects_for_a_real_detector():
    spec = parse_prompt("two cats and a teddy bear next to a brown dog")
    assert [(o.count, o.phrase) for o in spec.objects] == [
        (2, "cat"),
        (1, "teddy bear"),
        (1, "brown dog"),
    ]
    assert spec.warnings == []


def test_the_grammar_s_own_wording_needs_no_warning():
    for p in prompt_set(25) + prompt_set(25, "heldout_prompts"):
        assert parse_prompt(p.prompt).warnings == [], p.prompt
    for category in CATEGORIES:
        for seed in range(25):
            text = paraphrase(category, seed).text
            assert parse_prompt(text).warnings == [], text


def test_warnings_reach_the_layout_and_a_run_s_record():
    prompt = "three blue stars in a ring and nothing else"
    layout = OfflinePlanner().layout(prompt)
    assert len(layout.items) == 3
    assert any("'in a ring'" in w for w in layout.warnings)
    record = scenecraft.run("world.render", prompt=prompt, seed=1, size=64).record
    assert any("'in a ring'" in w for w in record["spec"]["warnings"])


def test_a_prompt_with_nothing_understood_is_an_error_naming_the_words():
    with pytest.raises(PlannerError, match="'dragon'"):
        OfflinePlanner().layout("a dragon")
    with pytest.raises(InvalidParams, match="'dragon'"):
        scenecraft.run("world.render", prompt="a dragon", seed=1, size=64)


@pytest.mark.parametrize(
    "prompt",
    [
        "three hearts, one above the other",
        "3 circles stacked up",
        "four blue hearts in a row",
        "four squares in two colours",
        "three squares in a row, the middle one red",
        "three green hearts stacked, the bottom one purple",
        "a green square surrounded by two red circles",
        "a green square surrounded by four red circles",
        "three blue circles around a star",
        "a star with two circles on either side",
        "a red circle, a blue square and a green star in a column",
        "two red stars left of a heart, one above the other",
        "a circle in the middle, a star on the left and a heart on the right",
        "a star in the middle of two squares",
        "two differently coloured stars above a red square",
        "a circle, a star and a heart, all the same colour",
        "a red triangle and a red square, both to the left of a blue circle",
        "a square, then a circle to its right, then a star to the circle's right",
        "two purple hexagons with an orange circle in between",
        "from top to bottom: a red circle, a blue square and a green star",
        "a red heart at the top left and a blue star at the bottom right",
        "a red square in the top right corner",
        "three stars placed at the top left of the image",
        "a yellow star, in the centre of the image, and two blue circles",
        "three triangles in a row along the bottom edge",
        "a red circle on the left, a blue star at the top and a heart",
        "a heart on the left and a circle on the left too",
        "a blue star between two red hearts, all at the top",
        "a red star and no other red shapes at all",
        "four circles in a 2x2 grid",
        "six blue stars in two rows of three",
        "a 3x3 grid of squares",
        "a circle, a star, a heart and a square in a grid",
    ],
)
def test_what_is_read_of_new_wording_can_be_laid_out_drawn_and_judged(prompt):
    spec = parse_prompt(prompt)
    assert layout_problems(OfflinePlanner().layout(prompt), spec) == []
    verdict = judge(detect(render_scene(scene_from_spec(spec, 4), 128).image), spec)
    assert verdict.ok, verdict.reasons
