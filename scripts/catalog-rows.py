"""Writes a test catalog for the measuring scripts (catalog-growth.sh, import-ab.sh).

    python3 scripts/catalog-rows.py N DIR EVERY

DIR/rows.ndjson: N import rows, SKU-0000000 on, each with a level from 0 to 499 and one in
EVERY with a low-stock threshold from 1 to 49; DIR/pipe.txt: the same levels as plain HSETs
for `redis-cli --pipe` (the ceiling an import is compared with). Seeded by N, so a size
always makes the same rows.
"""
import random
import sys

n, work, every = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
random.seed(n)
with open(f"{work}/rows.ndjson", "w") as rows, open(f"{work}/pipe.txt", "w") as pipe:
    for i in range(n):
        sku, level = f"SKU-{i:07d}", random.randrange(0, 500)
        rule = f',"low_stock_threshold":{random.randrange(1, 50)}' if i % every == 0 else ""
        rows.write(f'{{"sku":"{sku}","available":{level}{rule}}}\n')
        pipe.write(f"HSET pipe:sku:{{{sku}}} available {level} reserved 0 sold 0 received {level}\r\n")
