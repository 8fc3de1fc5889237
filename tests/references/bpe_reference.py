"""Hugging Face `tokenizers` as the reference for entropix's GPT-2 byte-level BPE (tests/unit/test_bpe.cpp).

  train  CORPUS_DIR OUT_DIR VOCAB_SIZE   trains a byte-level BPE (GPT-2's set-up: ByteLevel pre-tokenizer with
                                         its regex, no prefix space, <|endoftext|> special) on every file below
                                         CORPUS_DIR and writes OUT_DIR/vocab.json and OUT_DIR/merges.txt
  encode VOCAB MERGES DOCS_DIR OUT       encodes every file below DOCS_DIR as one document (its bytes decoded as
                                         UTF-8 with errors="replace") and writes OUT: one line per file,
                                         "<relative path>\\t<ids separated by spaces>", the end-of-text id last
"""
import os
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

EOT = "<|endoftext|>"


def files_below(root):
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            yield os.path.relpath(p, root), p


def texts(root):
    for _, p in sorted(files_below(root)):
        with open(p, "rb") as f:
            yield f.read().decode("utf-8", errors="replace")


def byte_level_tokenizer(model):
    tok = Tokenizer(model)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def train(corpus, out, vocab_size):
    tok = byte_level_tokenizer(models.BPE())
    trainer = trainers.BpeTrainer(vocab_size=int(vocab_size), special_tokens=[EOT], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts(corpus), trainer=trainer)
    os.makedirs(out, exist_ok=True)
    tok.model.save(out)


def encode(vocab, merges, docs, out):
    tok = byte_level_tokenizer(models.BPE.from_file(vocab, merges))
    eot = tok.token_to_id(EOT)
    with open(out, "w") as f:
        for rel, p in sorted(files_below(docs)):
            with open(p, "rb") as d:
                ids = tok.encode(d.read().decode("utf-8", errors="replace")).ids + [eot]
            f.write(rel + "\t" + " ".join(map(str, ids)) + "\n")


if __name__ == "__main__":
    {"train": train, "encode": encode}[sys.argv[1]](*sys.argv[2:])
