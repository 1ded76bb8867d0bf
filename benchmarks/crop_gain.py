"""The style predictor's gain (`StylePredictor.gain`) on crops of the built-in photos at 10 steps.

`view_gain.py` chose the shipped 0.9 by the start's own loss, before any step; this asks what 10 of
crops' steps (the 8x target's shorter budget, at the start's rates) make of a start scaled further
or less far, on adapt_lrs.py's recoloured stand-in (8 training paintings x 3 test photos). One
file of rows for any number of gains, written after each:

    python benchmarks/crop_gain.py benchmarks/crops/gain-10.json 0.9 1.2 1.05 1.4 0.75 0.6
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

from adapt_lrs import BUDGET, CANDIDATES, adapted_rows, evaluation_photos, recoloured, report, training_paintings
from metastyle.start import SMALL_MODEL, load_start
from metastyle.vgg import VGG19


def main(output: Path, gains: list[float]) -> None:
    config = replace(BUDGET, **CANDIDATES["1x256, 10 steps, lr 1e-4, in 1e-2"])
    paintings, photos, vgg = recoloured(training_paintings(8), Path("runs/recoloured")), evaluation_photos(3), VGG19()
    start, rows = load_start(str(SMALL_MODEL)), []
    for gain in gains:  # each painting's start is a copy (`Start.for_painting`): only the gain changes between runs
        start.predictor.gain.fill_(gain)
        rows += adapted_rows(f"gain {gain:g}", config, paintings, photos, start, vgg)
        output.write_text(json.dumps({"init": str(SMALL_MODEL), "rows": rows}, indent=1))
    report(rows)


if __name__ == "__main__":
    main(Path(sys.argv[1]), [float(g) for g in sys.argv[2:]])
