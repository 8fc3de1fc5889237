#!/usr/bin/python3
"""The quickstart model (experiments/quickstart.yaml) written in plain PyTorch, timed the way
`entropix bench` times it, for the CPU comparison of docs/performance.md.

Same model (pre-LN GPT-2 block: LayerNorm, softmax attention with separate q/k/v/o matrices,
q and k with bias, v and o without; bias-free GELU MLP of width 4d; final LayerNorm; LM head tied
to the token embedding; GPT-2 init), same optimizer (AdamW, decay only on >= 2-D tensors, betas
(0.9, 0.95), eps 1e-8, global-norm clip 1.0) and the same batch (B sequences of T random byte
tokens, a fresh batch each step) as entropix. Attention is written out explicitly, as nanoGPT
does without flash attention (LibTorch 1.13 has no scaled_dot_product_attention).

Run with Debian's python3-torch (1.13, the same LibTorch as entropix):
    /usr/bin/python3 benchmarks/quickstart_pytorch.py [--threads N] [--steps N] [--warmup N]
Prints one progress line per measured step on stderr and one JSON object on stdout with
tokens_per_s (from the median step time), ms_per_step {median, min, max} and the settings.
"""
import argparse
import json
import math
import platform
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, d, n_head, T):
        super().__init__()
        self.n_head = n_head
        self.q = nn.Linear(d, d, bias=True)
        self.k = nn.Linear(d, d, bias=True)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).triu(1))

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q = self.q(x).view(B, T, self.n_head, hs).transpose(1, 2)  # (B, H, T, hs)
        k = self.k(x).view(B, T, self.n_head, hs).transpose(1, 2)
        v = self.v(x).view(B, T, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))  # (B, H, T, T)
        att = att.masked_fill(self.mask[:T, :T], float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.o(y)


class Block(nn.Module):
    def __init__(self, d, n_head, T):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_head, T)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d, bias=False)
        self.c_proj = nn.Linear(4 * d, d, bias=False)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, L, H, d, T, V):
        super().__init__()
        self.wte = nn.Embedding(V, d)
        self.wpe = nn.Embedding(T, d)
        self.blocks = nn.ModuleList([Block(d, H, T) for _ in range(L)])
        self.ln_f = nn.LayerNorm(d)
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith(("attn.o.weight", "c_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        T = idx.size(1)
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # (B, T, V), tied head


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps PyTorch's default")
    ap.add_argument("--steps", type=int, default=20, help="measured steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--context", type=int, default=128)
    ap.add_argument("--vocab-size", type=int, default=256)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    model = GPT(a.n_layer, a.n_head, a.n_embd, a.context, a.vocab_size)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    gen = torch.Generator().manual_seed(0)
    B, T = a.batch_size, a.context

    def step():
        data = torch.randint(0, a.vocab_size, (B, T + 1), generator=gen)
        x, y = data[:, :-1], data[:, 1:]
        opt.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(a.warmup):
        step()
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
        print(f"step {i + 1}/{a.steps} loss {loss:.4f} {1000 * times[-1]:.1f} ms", file=sys.stderr)
    median = statistics.median(times)
    print(json.dumps({
        "framework": "pytorch-python",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "batch_size": B, "context": T, "tokens_per_step": B * T,
        "steps": a.steps, "warmup": a.warmup,
        "ms_per_step": {"median": 1000 * median, "min": 1000 * min(times), "max": 1000 * max(times)},
        "tokens_per_s": B * T / median,
    }, indent=2))


if __name__ == "__main__":
    main()
