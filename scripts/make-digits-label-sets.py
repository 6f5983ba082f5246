#!/usr/bin/env python3
"""Writes experiments/labels/digits-annotators.csv: three simulated annotators' labels for the
1,797 bundled digits, in the format `noise.model = "file"` reads (a `row` column, then one column
of labels per label set), for experiments/label-sets.toml.

Each annotator mislabels a share of the digits as a digit they resemble (the confusions of
experiments/matrices/digits.csv): `careful` about 5%, `hurried` about 18%, `worst` about 40%,
harder digits (those with a confusable neighbour) more often. Seeded, so the file is reproducible:

    python3 scripts/make-digits-label-sets.py
"""

import csv
import gzip
import pathlib
import random

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFUSED_WITH = {0: [6, 8], 1: [7, 4], 2: [7, 3], 3: [8, 5], 4: [9, 1],
                 5: [6, 3], 6: [5, 0], 7: [1, 2], 8: [3, 9], 9: [4, 7]}
# How error-prone each digit is, relative to the others (the harder ones more so).
DIFFICULTY = {0: 0.5, 1: 1.0, 2: 0.9, 3: 1.3, 4: 0.8, 5: 1.2, 6: 0.6, 7: 1.0, 8: 1.6, 9: 1.1}
ANNOTATORS = {"careful": 0.05, "hurried": 0.18, "worst": 0.40}


def main():
    with gzip.open(ROOT / "crates/data/assets/digits.csv.gz", "rt") as f:
        labels = [int(row[-1]) for row in csv.reader(f) if row and row[0].strip().isdigit()]
    mean_difficulty = sum(DIFFICULTY[y] for y in labels) / len(labels)
    rng = random.Random(2026)
    columns = {}
    for name, rate in ANNOTATORS.items():
        given = []
        for y in labels:
            if rng.random() < rate * DIFFICULTY[y] / mean_difficulty:
                given.append(rng.choice(CONFUSED_WITH[y]))
            else:
                given.append(y)
        columns[name] = given
    out = ROOT / "experiments/labels/digits-annotators.csv"
    with open(out, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["row", *columns])
        for i in range(len(labels)):
            writer.writerow([i, *(columns[name][i] for name in columns)])
    for name, given in columns.items():
        flipped = sum(a != b for a, b in zip(labels, given)) / len(labels)
        print(f"{name}: {flipped:.3f} of the labels differ")


if __name__ == "__main__":
    main()
