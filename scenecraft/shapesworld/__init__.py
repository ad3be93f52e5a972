"""ShapesWorld: procedural 2D scenes of coloured shapes, rendered exactly, with prompts."""
