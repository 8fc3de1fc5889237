#!/usr/bin/env python3
"""entropix's model and training step written as a PyTorch 2.x user would write them, timed the way
`entropix bench` times its steps: the reference of benchmarks/compare.py and scripts/gpu-bench.sh.

Same model as entropix's SM+LN+G decoder (pre-LN GPT-2 block: LayerNorm with gain and bias, softmax
attention with separate q/k/v/o matrices, q and k with bias, v and o without; a bias-free exact-GELU
MLP of width 4d; final LayerNorm; LM head tied to the token embedding; GPT-2 init N(0, 0.02), the
residual projections at 0.02/sqrt(2L) where the spec scales them; dropout on embeddings, attention
and residual branches where the spec has it), same optimizer settings (AdamW, decay on matrices and
embeddings only, global-norm clip 1.0) and the same batches as `entropix bench --data synthetic` (B
rows of T+1 uniform random tokens, a fresh batch each step, inputs and shifted targets).

What a PyTorch 2.x user writes for speed: F.scaled_dot_product_attention (is_causal) since no
attention probabilities are needed, the fused AdamW (fused=True; --optimizer foreach for the
multi-tensor one), zero_grad(set_to_none=True), bf16 autocast on CUDA (--precision bf16) and
optionally torch.compile (--compile). The loss is read back with .item() every step, as a training
loop that logs it does.

    python benchmarks/reference_pytorch.py --shape quickstart [--threads N] [--steps N] [--warmup N] [--profile FILE]
    python benchmarks/reference_pytorch.py --shape gpt2 --device cuda --precision bf16 --batch-size 64 --compile
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

# The two shapes of docs/performance.md: experiments/quickstart.yaml, and GPT-2 small as in
# experiments/paper/sm-ln-g.yaml (batch 8 on the CPU).
SHAPES = {
    "quickstart": dict(n_layer=4, n_head=4, n_embd=128, context=128, vocab_size=256, batch_size=16,
                       dropout=0.0, scaled_residual_init=True),
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, context=128, vocab_size=50257, batch_size=8,
                 dropout=0.1, scaled_residual_init=False),
}


class Attention(nn.Module):
    def __init__(self, d, n_head, dropout):
        super().__init__()
        self.n_head, self.dropout = n_head, dropout
        self.q = nn.Linear(d, d, bias=True)
        self.k = nn.Linear(d, d, bias=True)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        hs = C // self.n_head
        q = self.q(x).view(B, T, self.n_head, hs).transpose(1, 2)  # (B, H, T, hs)
        k = self.k(x).view(B, T, self.n_head, hs).transpose(1, 2)
        v = self.v(x).view(B, T, self.n_head, hs).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.o(y.transpose(1, 2).contiguous().view(B, T, C))


class Block(nn.Module):
    def __init__(self, d, n_head, dropout):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = Attention(d, n_head, dropout)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d, bias=False)
        self.c_proj = nn.Linear(4 * d, d, bias=False)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.drop(self.c_proj(F.gelu(self.c_fc(self.ln_2(x)))))


class GPT(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, context, vocab_size, dropout, scaled_residual_init):
        super().__init__()
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.wpe = nn.Embedding(context, n_embd)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(n_embd, n_head, dropout) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        residual_std = 0.02 / math.sqrt(2 * n_layer) if scaled_residual_init else 0.02
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, 0.0, residual_std if name.endswith(("attn.o.weight", "c_proj.weight")) else 0.02)
            elif name.endswith(".bias"):
                nn.init.zeros_(p)

    def forward(self, idx):
        T = idx.size(1)
        x = self.drop(self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)))
        for block in self.blocks:
            x = block(x)
        return F.linear(self.ln_f(x), self.wte.weight)  # (B, T, V), tied head


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="quickstart")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 keeps PyTorch's default")
    ap.add_argument("--steps", type=int, default=20, help="measured steps")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--batch-size", type=int, default=0, help="0: the shape's")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="bf16: autocast, as entropix's train.precision")
    ap.add_argument("--optimizer", choices=["fused", "foreach"], default="fused")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model")
    ap.add_argument("--profile", default="", help="also record 2 more steps with torch.profiler into this Chrome "
                    "trace, as entropix bench --profile does (benchmarks/profile_summary.py reads both)")
    a = ap.parse_args()
    shape = dict(SHAPES[a.shape])
    B = a.batch_size or shape.pop("batch_size")
    shape.pop("batch_size", None)
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    torch.manual_seed(1337)
    model = GPT(**shape).to(device)
    model.train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                            fused=a.optimizer == "fused", foreach=a.optimizer == "foreach" or None)
    fwd = torch.compile(model) if a.compile else model
    T, V = shape["context"], shape["vocab_size"]

    def step(i):
        data = torch.randint(0, V, (B, T + 1))  # (B, T+1), as entropix bench --data synthetic
        x, y = data[:, :-1].to(device, non_blocking=True), data[:, 1:].to(device, non_blocking=True)
        lr = 1e-3 * min(1.0, (i + 1) / 100)  # a scheduled rate set every step, as entropix does
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
            logits = fwd(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()  # the logged loss; also waits for the device

    for i in range(a.warmup):
        step(i)
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        loss = step(a.warmup + i)
        times.append(time.perf_counter() - t0)
        print(f"step {i + 1}/{a.steps} loss {loss:.4f} {1000 * times[-1]:.1f} ms", file=sys.stderr)
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with profile(activities=activities) as prof:
            for i in range(2):
                step(a.warmup + a.steps + i)
        prof.export_chrome_trace(a.profile)
    median = statistics.median(times)
    print(json.dumps({
        "framework": "pytorch-python",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "shape": a.shape, "device": str(device), "precision": a.precision,
        "optimizer": a.optimizer, "compile": a.compile,
        "threads": torch.get_num_threads(),
        "batch_size": B, "context": T, "tokens_per_step": B * T,
        "steps": a.steps, "warmup": a.warmup,
        "ms_per_step": {"median": 1000 * median, "min": 1000 * min(times), "max": 1000 * max(times)},
        "tokens_per_s": B * T / median,
    }, indent=2))


if __name__ == "__main__":
    main()
