"""Reference for `entropix export --format hf`: loads the exported directory with transformers'
GPT2LMHeadModel and evaluates it on a batch that the C++ test wrote.

usage: hf_gpt2_parity.py EXPORT_DIR TOKENS_I64 B T OUT_DIR [VAL_U16]
  TOKENS_I64  raw little-endian int64 token ids, B x T (the batch entropix evaluated)
  OUT_DIR     receives logits.f32 (B x T x V, float32 little-endian) and entropy.json
              ({"headwise": [L][H]}: per head, the mean over batch rows and query positions of
              -sum_j p_j ln p_j, computed here from output_attentions in float64)
  VAL_U16     optional: raw uint16 tokens of the validation split; then entropy.json also holds
              "full": {"windows", "tokens", "val_loss"}: the mean next-token loss over windows
              i = 0, 1, ... of T inputs starting at i*T (targets shifted by one), as long as i*T+T
              is a valid index
"""
import json
import sys

import numpy as np
import torch
from transformers import GPT2LMHeadModel


def main():
    export_dir, tokens_path, B, T, out_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    model = GPT2LMHeadModel.from_pretrained(export_dir, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    x = torch.from_numpy(np.fromfile(tokens_path, dtype="<i8").reshape(B, T))
    with torch.no_grad():
        out = model(x, output_attentions=True)
    out.logits.to(torch.float32).numpy().astype("<f4").tofile(out_dir + "/logits.f32")
    headwise = []
    for att in out.attentions:  # (B, H, T, T) per layer
        p = att.to(torch.float64)
        plogp = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))
        row_entropy = -plogp.sum(-1)  # (B, H, T)
        headwise.append(row_entropy.mean(dim=(0, 2)).tolist())
    result = {"headwise": headwise}
    if len(sys.argv) > 6:
        val = np.fromfile(sys.argv[6], dtype="<u2").astype(np.int64)
        n_windows = (len(val) - 1) // T
        total = 0.0
        with torch.no_grad():
            for i in range(n_windows):
                w = torch.from_numpy(val[i * T: i * T + T + 1])
                logp = torch.log_softmax(model(w[:-1].unsqueeze(0)).logits[0].to(torch.float64), dim=-1)  # (T, V)
                total -= logp.gather(1, w[1:].unsqueeze(1)).sum().item()
        result["full"] = {"windows": n_windows, "tokens": n_windows * T, "val_loss": total / (n_windows * T)}
    with open(out_dir + "/entropy.json", "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
