"""The Python `sentencepiece` package as the reference for entropix's sentencepiece tokenizer
(tests/unit/test_sentencepiece.cpp).

  MODEL DOCS_DIR OUT   encodes every file below DOCS_DIR (UTF-8) as one document and writes OUT: one line per
                       file, "<relative path>\\t<ids separated by spaces>", the model's eos id last
"""
import os
import sys

import sentencepiece as spm

model, docs, out = sys.argv[1:4]
sp = spm.SentencePieceProcessor(model_file=model)
rows = []
for d, _, names in os.walk(docs):
    for n in names:
        p = os.path.join(d, n)
        with open(p, encoding="utf-8") as f:
            rows.append((os.path.relpath(p, docs), sp.encode(f.read()) + [sp.eos_id()]))
with open(out, "w") as f:
    for rel, ids in sorted(rows):
        f.write(rel + "\t" + " ".join(map(str, ids)) + "\n")
