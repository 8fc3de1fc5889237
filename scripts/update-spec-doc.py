#!/usr/bin/env python3
"""Regenerates the key table of docs/spec.md from `entropix list --keys`.

Usage: scripts/update-spec-doc.py [path/to/entropix]   (default build/entropix)
The table sits between the <!-- keys:begin --> and <!-- keys:end --> markers; the rest of the
page is left as it is. The test suite checks that every key appears in the page.
"""
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parent.parent
binary = sys.argv[1] if len(sys.argv) > 1 else str(root / "build" / "entropix")
listing = subprocess.run([binary, "list", "--keys"], check=True, capture_output=True, text=True).stdout

rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
for line in listing.splitlines():
    m = re.match(r"(\S+) \((.*?), default (.*?)\): (.*)", line)
    if not m:
        sys.exit(f"unexpected line from list --keys: {line}")
    path, kind, default, doc = m.groups()
    kind = kind.replace("|", ", ")
    default = "5% of `train.steps`" if path == "train.warmup" else f"`{default}`"
    rows.append(f"| `{path}` | {kind} | {default} | {doc.replace('|', chr(92) + '|')} |")

doc_path = root / "docs" / "spec.md"
text = doc_path.read_text()
begin, end = "<!-- keys:begin -->", "<!-- keys:end -->"
head, rest = text.split(begin)
_, tail = rest.split(end)
doc_path.write_text(head + begin + "\n" + "\n".join(rows) + "\n" + end + tail)
print(f"updated {doc_path} ({len(rows) - 2} keys)")
