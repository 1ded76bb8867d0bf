"""What the window balance looks like on faint held-out paintings: lite's result beside 12 steps on
windows of the photo at a balance power of 1 and at `WINDOW_LOSS`'s 0.75 (RESULTS.md, "Faint and loud
paintings on windows"). Three pairs that missed lite's content loss at a power of 1.

    python benchmarks/faint_grid.py benchmarks/photo_windows/heldout/faint.jpg
"""

from __future__ import annotations

import sys
from dataclasses import replace

from metastyle import pipeline
from metastyle.adapt import CPU_ADAPT, WINDOW_LOSS
from metastyle.bench import SCORED
from metastyle.data import resolve_image
from metastyle.demo import side_by_side, stacked
from metastyle.images import load_image, open_image, tensor_to_pil
from metastyle.inference import Stylizer
from metastyle.peers import lite_peer

PAIRS = (("old-trees-level-distance", "chelsea"), ("condesa-de-altamira-and-her-daughter", "astronaut"), ("the-toilette-of-venus", "coffee"))
SIZE = 256  # the `score` metric's, as in the bench
LOSSES = {"power 1, 12 steps": replace(WINDOW_LOSS, content_balance=1.0), "power 0.75 (default), 12 steps": WINDOW_LOSS}


def main(path: str) -> None:
    lite, rows = lite_peer(), []
    for painting, photo_name in PAIRS:
        style, photo = resolve_image(f"builtin:{painting}"), load_image(resolve_image(f"builtin:{photo_name}"), SIZE)
        photo_image, painting_image = tensor_to_pil(photo), open_image(style)
        images = [photo_image, painting_image, lite.stylize_with(photo_image, painting_image, max_size=SIZE)]
        for loss in LOSSES.values():
            network, _ = pipeline.adapt(style, photos=[photo], config=replace(CPU_ADAPT, loss=loss), device="cpu")
            images.append(tensor_to_pil(Stylizer(network, SCORED)(photo)))
        rows.append(side_by_side(images, ["photo", "painting", "lite", *LOSSES], height=200, gap=4))
    stacked(rows).save(path, quality=90)


if __name__ == "__main__":
    main(sys.argv[1])
