#!/usr/bin/env python3
"""Regenerate the key table of docs/nats-conf.md from
tests/unit/data/nats_keys.tsv (the single source; test_conf_nats checks that
both agree). Usage: scripts/gen-nats-conf-doc.py"""
import os

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tsv = os.path.join(root, "tests/unit/data/nats_keys.tsv")
doc = os.path.join(root, "docs/nats-conf.md")
BEGIN, END = "<!-- keys:begin -->", "<!-- keys:end -->"

rows = []
with open(tsv) as f:
    for line in f:
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        key, status, tern, snippet, _ = line.split("\t")
        rows.append((key, status, tern, snippet))

def cell(s):
    return s.replace("|", "\\|")

out = ["| nats-server key | status | Tern key, or why not | example |", "|---|---|---|---|"]
for key, status, tern, snippet in rows:
    what = "`%s`" % tern if status == "honoured" else cell(tern)
    out.append("| `%s` | %s | %s | `%s` |" % (key, status, what, cell(snippet)))

text = open(doc).read()
a, b = text.index(BEGIN) + len(BEGIN), text.index(END)
open(doc, "w").write(text[:a] + "\n" + "\n".join(out) + "\n" + text[b:])
print("%d keys" % len(rows))
