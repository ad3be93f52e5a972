"""SVGCraft (Banerjee et al., 2024; CraftSVG, WACV 2026): a multi-object SVG scene from text.

The stages, each a named function, in the order ``pipeline.SVGCraftPipeline`` runs them (stage 1
before the models load, in ``pipelines/svgcraft.py``):

1. ``layout.plan``: a box and caption per object (any planner).
2. ``latents.box_latents``: each object generated alone in its box from masked noise; its mask
   refined by the segmenter; its latents and word attention kept.
3. ``latents.fused_denoise``: the per-box latents composed and held for the first steps of a
   whole-scene pass whose cross-attention is pulled toward the per-box maps (attention fusion).
4. the fused raster (decoded latents); from here on ``SVGCraftPipeline.vectorise``.
5. ``canvas.initialise_canvas``: a background layer and one group of primitives per object.
6. ``optimise.optimise`` / ``prune`` / ``write_svg``: the canvas fitted to the raster, pruned and
   written as a layered, sanitised SVG.
"""
