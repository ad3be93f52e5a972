"""ShapesWorld: procedural 2D scenes of coloured shapes, with exact rasters, SVG, masks and prompts."""
