#!/usr/bin/env python3
"""GPT-2 byte-level BPE throughput: `entropix prepare --tokenizer gpt2-bpe` against Hugging Face `tokenizers`
on the same documents, in MB/s of input text, on 1 and N threads, alternating the two round by round.

    /root/.cache/entropix/venv/bin/python benchmarks/tokenizer_throughput.py --threads 2 --rounds 3

The corpus is a folder of text files (default: the CPython standard library, as `entropix prepare pystdlib`
reads it), one document per file. The vocabulary is GPT-2's when --vocab/--merges are given (vocab.json and
merges.txt from the openai-community/gpt2 repository); otherwise a byte-level BPE of --vocab-size tokens is
trained on the corpus with `tokenizers` first (not timed).

Both sides are timed from start to finish on the whole corpus: entropix as a process (loading the vocabulary,
reading, encoding, writing the token files), `tokenizers` from loading the vocabulary through reading the files
(decoded as UTF-8 with errors="replace", as entropix does) and Tokenizer.encode_batch, with RAYON_NUM_THREADS
set to the thread count before `tokenizers` is imported in a fresh interpreter. It prints one line per
measurement and a markdown table of medians with the ratio entropix / tokenizers. A benchmark, not a test.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

HF_SCRIPT = r"""
import json, os, sys, time
t0 = time.perf_counter()
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
vocab, merges, listing = sys.argv[1:4]
tok = Tokenizer(models.BPE.from_file(vocab, merges))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
files = json.load(open(listing))
texts, size = [], 0
for p in files:
    b = open(p, "rb").read()
    size += len(b)
    if not b or b"\0" in b[:8192]:
        continue  # entropix skips empty and binary files
    texts.append(b.decode("utf-8", errors="replace"))
n = sum(len(e.ids) + 1 for e in tok.encode_batch(texts))
print(json.dumps({"seconds": time.perf_counter() - t0, "bytes": size, "tokens": n}))
"""


def stdlib_files():
    lib = max((d for d in os.listdir("/usr/lib") if d.startswith("python3.") and d[8:].isdigit()),
              key=lambda d: int(d[8:]))
    root = os.path.join("/usr/lib", lib)
    out = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if x not in ("site-packages", "dist-packages", "__pycache__")]
        out += [os.path.join(d, n) for n in names if n.endswith(".py")]
    return sorted(out)


def folder_files(root):
    out = []
    for d, dirs, names in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        out += [os.path.join(d, n) for n in names if not n.startswith(".")]
    return sorted(out)


def train_vocab(files, size, out):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=size, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((open(p, "rb").read().decode("utf-8", errors="replace") for p in files), trainer=trainer)
    os.makedirs(out, exist_ok=True)  # tokenizers' save writes into an existing folder only
    tok.model.save(out)
    return os.path.join(out, "vocab.json"), os.path.join(out, "merges.txt")


def run_entropix(binary, corpus_dir, vocab, merges, threads, out):
    cmd = [binary, "prepare", corpus_dir, "--tokenizer", "gpt2-bpe", "--vocab", vocab, "--merges", merges,
           "--threads", str(threads), "--out", out, "--overwrite", "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    meta = json.load(open(os.path.join(out, "meta.json")))
    return seconds, meta["train_tokens"] + meta["val_tokens"]


def run_hf(vocab, merges, listing, threads):
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="true" if threads > 1 else "false")
    r = subprocess.run([sys.executable, "-c", HF_SCRIPT, vocab, merges, listing], check=True, env=env,
                       capture_output=True, text=True)
    d = json.loads(r.stdout)
    return d["seconds"], d["tokens"], d["bytes"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", help="a folder of text files (default: the CPython standard library)")
    ap.add_argument("--vocab")
    ap.add_argument("--merges")
    ap.add_argument("--vocab-size", type=int, default=8000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--entropix", default=os.path.join(ROOT, "build", "entropix"))
    a = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if a.corpus:
            files, corpus_dir = folder_files(a.corpus), a.corpus
        else:  # entropix reads a folder: link the stdlib .py files into one, keeping their relative paths
            src = stdlib_files()
            root = os.path.commonpath(src)
            corpus_dir = os.path.join(tmp, "corpus")
            files = []
            for p in src:
                dst = os.path.join(corpus_dir, os.path.relpath(p, root))
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                os.symlink(p, dst)
                files.append(dst)
        listing = os.path.join(tmp, "files.json")
        json.dump(files, open(listing, "w"))
        vocab, merges = a.vocab, a.merges
        if not (vocab and merges):
            vocab, merges = train_vocab(files, a.vocab_size, os.path.join(tmp, "tok"))
        out = os.path.join(tmp, "out")
        counts = sorted({1, a.threads})
        res = {(who, t): [] for who in ("entropix", "tokenizers") for t in counts}
        mb = None
        for r in range(a.rounds):
            for t in counts:
                s, n_e = run_entropix(a.entropix, corpus_dir, vocab, merges, t, out)
                hs, n_h, size = run_hf(vocab, merges, listing, t)
                mb = size / 1e6
                res[("entropix", t)].append(mb / s)
                res[("tokenizers", t)].append(mb / hs)
                print(f"round {r} threads {t}: entropix {mb / s:.2f} MB/s ({n_e} tokens), "
                      f"tokenizers {mb / hs:.2f} MB/s ({n_h} tokens)", flush=True)
                if n_e != n_h:
                    print(f"  token counts differ: entropix {n_e}, tokenizers {n_h}", flush=True)
        print(f"\ncorpus {mb:.1f} MB, {len(files)} files; load average {os.getloadavg()[0]:.2f}\n")
        print("| threads | entropix MB/s | tokenizers MB/s | entropix / tokenizers |")
        print("|---|---|---|---|")
        for t in counts:
            e, h = statistics.median(res[("entropix", t)]), statistics.median(res[("tokenizers", t)])
            print(f"| {t} | {e:.2f} | {h:.2f} | {e / h:.2f} |")


if __name__ == "__main__":
    main()
