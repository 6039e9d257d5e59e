#!/usr/bin/env python3
"""Generates the engine benchmark's two CSV files, deterministically (seeded), stdlib only.

  Scripts/bench-engine-data.py OUT_DIR [--rows N] [--seed S]

exposures.csv  email_hash,campaign,region        N rows
purchases.csv  email_hash,amount,category        N rows

Identifiers are hex SHA-256 digests of synthetic e-mail addresses. Each identifier appears
once per file (one row per person per file), and 40% of the purchase identifiers also appear in
exposures, so the join has 0.4 N rows. With one row per person on each side, every person
falls in one campaign with one amount in [0, 500]: Parley's per-person contribution bounds
(at most one group, sums clamped to [0, 500]) change nothing, and its exact totals equal the
plain SQL answers DuckDB and sqlite3 give. Row order is shuffled in both files.

A file `rows` records the row count and seed, so the bench script can skip regenerating.
"""
import argparse
import hashlib
import os
import random

CAMPAIGNS = [f"spring_sale_{n:02d}" for n in range(1, 11)]
CAMPAIGN_WEIGHTS = [18, 14, 12, 11, 10, 9, 8, 7, 6, 5]
CATEGORIES = ["apparel", "books", "electronics", "grocery", "home", "toys"]
REGIONS = 8
OVERLAP = 0.4


def identifier(person: int) -> str:
    return hashlib.sha256(f"person{person}@example.com".encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="directory to write exposures.csv and purchases.csv into")
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows per file (default 2,000,000)")
    parser.add_argument("--seed", type=int, default=20251125, help="random seed (default 20251125)")
    args = parser.parse_args()
    rows, rng = args.rows, random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    # People 0..rows-1 are exposed; purchasers are 40% of them plus 60% people never exposed.
    shared = rng.sample(range(rows), int(rows * OVERLAP))
    purchasers = shared + list(range(rows, rows + rows - len(shared)))
    exposed = list(range(rows))
    rng.shuffle(exposed)
    rng.shuffle(purchasers)

    campaigns = rng.choices(CAMPAIGNS, weights=CAMPAIGN_WEIGHTS, k=rows)
    with open(os.path.join(args.out, "exposures.csv"), "w", newline="") as out:
        out.write("email_hash,campaign,region\n")
        out.writelines(f"{identifier(p)},{c},{rng.randint(1, REGIONS)}\n" for p, c in zip(exposed, campaigns))

    with open(os.path.join(args.out, "purchases.csv"), "w", newline="") as out:
        out.write("email_hash,amount,category\n")
        for person in purchasers:
            cents = rng.randint(0, 50_000)
            out.write(f"{identifier(person)},{cents // 100}.{cents % 100:02d},{rng.choice(CATEGORIES)}\n")

    with open(os.path.join(args.out, "rows"), "w") as out:
        out.write(f"{rows} {args.seed}\n")


if __name__ == "__main__":
    main()
