"""The text-line render style's settings (render.STYLES["line"] = RenderConfig(**LINE_SETTINGS)).

Text lines (receipts, forms, labels): whole lines of 1-10 words cut by a line detector, mostly
print on paper, parts of the lines above and below, camera and scanner effects; no slivers of
neighbouring words, little rotation, small fonts. generate.py pairs it with text.LineSampler.
"""

LINE_SETTINGS = dict(
    font_size=(16, 40), tracking_prob=0.1, tracking=0.04, border_prob=0.03, shadow_prob=0.03,
    rotation_deg=0.8, shear=0.04, perspective=0.02, curve_prob=0.03, padding=(0.02, 0.25),
    paper_prob=0.85, neighbour_prob=0.4, lines_prob=0.8, beside_prob=0.0, edge_prob=0.15,
    distractor_prob=0.1, palette_prob=0.15, photo_prob=0.15, texture_prob=0.3, relief_prob=0.0,
    elastic_prob=0.1, motion_blur_prob=0.1, exposure_prob=0.25, min_contrast=40.0,
    lowres_prob=0.3, blur_sigma=(0.3, 1.2), jpeg_quality=(50, 95), min_visible=40.0,
)
