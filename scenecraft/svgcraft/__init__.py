"""SVGCraft: LLM layout -> per-box masked latents -> fused diffusion -> optimised SVG."""
