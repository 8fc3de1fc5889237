#include "entropix/model/online_entropy_attention.h"

#include <algorithm>
#include <limits>

namespace entropix {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Statistics and probabilities: float64 for float64 inputs, float32 otherwise.
torch::ScalarType statistics_dtype(const torch::Tensor& q) {
  return q.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// (T, min(block, T)) bool, true at (r, c) when c > r. Narrowed to (T - j0, n) it masks the keys
// j0 + c that query j0 + r may not see: only the block on the diagonal has any.
torch::Tensor future_key_mask(int64_t T, int64_t block, const torch::Device& device) {
  return torch::ones({T, std::min(block, T)}, torch::TensorOptions().dtype(torch::kBool).device(device)).triu(1);
}

// a (BH, R, hs), b (BH, n, hs), rows (BH, R) -> a b^T - rows (BH, R, n) in `st`, in one batched
// product when the inputs already have that dtype.
torch::Tensor product_minus_rows(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& rows,
                                 torch::ScalarType st) {
  if (a.scalar_type() == st) return torch::baddbmm(rows.neg().unsqueeze(-1), a, b.transpose(1, 2));
  return torch::bmm(a, b.transpose(1, 2)).to(st).sub_(rows.unsqueeze(-1));
}

class OnlineEntropyAttentionFn : public torch::autograd::Function<OnlineEntropyAttentionFn> {
 public:
  // q, k, v (B, H, T, hs) -> {out (B, H, T, hs), entropy (B, H, T)}
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, int64_t block) {
    const int64_t B = q.size(0), H = q.size(1), T = q.size(2), hs = q.size(3), BH = B * H;
    const auto dt = q.scalar_type(), st = statistics_dtype(q);
    auto q3 = q.reshape({BH, T, hs}), k3 = k.reshape({BH, T, hs}), v3 = v.reshape({BH, T, hs});
    const auto stat_options = q.options().dtype(st);
    auto m = torch::empty({BH, T}, stat_options);       // running row maximum of the logits
    auto l = torch::zeros({BH, T}, stat_options);       // sum_j exp(s_j - m)
    auto w = torch::zeros({BH, T}, stat_options);       // sum_j exp(s_j - m) (s_j - m)
    auto acc = torch::zeros({BH, T, hs}, stat_options);  // sum_j exp(s_j - m) v_j
    const auto mask = future_key_mask(T, block, q.device());
    const double neg_inf = -std::numeric_limits<double>::infinity();

    // Queries before j0 see none of the keys from j0 on: block j0 only meets rows j0..T-1.
    for (int64_t j0 = 0; j0 < T; j0 += block) {
      const int64_t n = std::min(block, T - j0), R = T - j0;
      auto kb = k3.narrow(1, j0, n), vb = v3.narrow(1, j0, n);       // (BH, n, hs)
      auto future = mask.narrow(0, 0, R).narrow(1, 0, n);             // (R, n)
      auto s = torch::bmm(q3.narrow(1, j0, R), kb.transpose(1, 2)).to(st);  // (BH, R, n) logits
      auto block_max = s.masked_fill(future, neg_inf).amax(-1);        // (BH, R), finite: key j0 is visible
      auto m_rows = m.narrow(1, j0, R), l_rows = l.narrow(1, j0, R), w_rows = w.narrow(1, j0, R);
      auto acc_rows = acc.narrow(1, j0, R);
      if (j0 == 0) m_rows.copy_(block_max);  // l = w = acc = 0: the update below starts them
      auto m_new = torch::maximum(m_rows, block_max);  // (BH, R)
      auto shift = m_rows - m_new;                     // (BH, R), <= 0
      auto alpha = shift.exp();                        // rescales what was summed under the old maximum
      s.sub_(m_new.unsqueeze(-1));                     // s - m_new; finite also at future keys
      auto p = s.exp().masked_fill_(future, 0.0);      // (BH, R, n) unnormalised probabilities
      // sum_old exp(s - m_new)(s - m_new) = alpha (w + shift l): the old terms, shifted and rescaled.
      w_rows.add_(shift * l_rows).mul_(alpha).add_((p * s).sum(-1));
      l_rows.mul_(alpha).add_(p.sum(-1));
      acc_rows.mul_(alpha.unsqueeze(-1)).add_(torch::bmm(p.to(dt), vb).to(st));  // (BH, R, hs)
      m_rows.copy_(m_new);
    }

    auto log_l = l.log();
    auto out = (acc / l.unsqueeze(-1)).to(dt);  // (BH, T, hs)
    auto lse = m + log_l;                      // (BH, T) log-sum-exp of the logits
    auto entropy = log_l - w / l;              // (BH, T) = lse - sum_j p_j s_j
    ctx->saved_data["block"] = block;
    ctx->save_for_backward({q3, k3, v3, out, lse, entropy});
    ctx->set_materialize_grads(false);
    return {out.view({B, H, T, hs}), entropy.view({B, H, T})};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q3 = saved[0], &k3 = saved[1], &v3 = saved[2], &out = saved[3], &lse = saved[4], &entropy = saved[5];
    const int64_t block = ctx->saved_data["block"].toInt();
    const int64_t BH = q3.size(0), T = q3.size(1), hs = q3.size(2);
    const auto dt = q3.scalar_type(), st = statistics_dtype(q3);
    const auto shape = grads[0].defined() ? grads[0].sizes().vec() : grads[1].sizes().vec();
    const int64_t B = shape[0], H = shape[1];

    auto d_out = grads[0].defined() ? grads[0].reshape({BH, T, hs}).to(dt) : torch::zeros_like(out);  // (BH, T, hs)
    const bool entropy_grad = grads[1].defined();
    auto d_entropy = entropy_grad ? grads[1].reshape({BH, T}).to(st) : torch::Tensor();  // (BH, T)
    auto D = (d_out.to(st) * out.to(st)).sum(-1);  // (BH, T) = dO_i . O_i

    auto dq = torch::zeros({BH, T, hs}, q3.options().dtype(st));
    auto dk = torch::empty({BH, T, hs}, q3.options()), dv = torch::empty({BH, T, hs}, q3.options());
    const auto mask = future_key_mask(T, block, q3.device());
    for (int64_t j0 = 0; j0 < T; j0 += block) {
      const int64_t n = std::min(block, T - j0), R = T - j0;
      auto qb = q3.narrow(1, j0, R), d_out_b = d_out.narrow(1, j0, R);  // (BH, R, hs)
      auto kb = k3.narrow(1, j0, n), vb = v3.narrow(1, j0, n);           // (BH, n, hs)
      auto future = mask.narrow(0, 0, R).narrow(1, 0, n);                 // (R, n)
      // The row constants ride on the batched products (baddbmm adds its broadcast input), which
      // saves two passes over the (BH, R, n) block.
      auto log_p = product_minus_rows(qb, kb, lse.narrow(1, j0, R), st);  // (BH, R, n) s - lse = ln P
      auto p = log_p.exp().masked_fill_(future, 0.0);                     // (BH, R, n) probabilities
      auto ds = product_minus_rows(d_out_b, vb, D.narrow(1, j0, R), st);  // (BH, R, n) dP - D
      if (entropy_grad) {
        // - dH_i (ln P_ij + H_i); at future keys ln P is finite garbage that p = 0 cancels.
        ds.addcmul_(log_p.add_(entropy.narrow(1, j0, R).unsqueeze(-1)), d_entropy.narrow(1, j0, R).unsqueeze(-1), -1.0);
      }
      ds.mul_(p);  // (BH, R, n) gradient of the logits
      auto ds_dt = ds.to(dt);
      dv.narrow(1, j0, n).copy_(torch::bmm(p.to(dt).transpose(1, 2), d_out_b));  // (BH, n, hs)
      dk.narrow(1, j0, n).copy_(torch::bmm(ds_dt.transpose(1, 2), qb));          // (BH, n, hs)
      dq.narrow(1, j0, R).add_(torch::bmm(ds_dt, kb).to(st));                    // (BH, R, hs)
    }
    return {dq.to(dt).view({B, H, T, hs}), dk.view({B, H, T, hs}), dv.view({B, H, T, hs}), torch::Tensor()};
  }
};

}  // namespace

AttentionWithEntropy online_entropy_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                              int64_t block) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.sizes() == q.sizes(),
              "online_entropy_attention: q, k, v must be (B, H, T, hs) of one shape, got ", q.sizes(), ", ",
              k.sizes(), ", ", v.sizes());
  TORCH_CHECK(k.scalar_type() == q.scalar_type() && v.scalar_type() == q.scalar_type(),
              "online_entropy_attention: q, k, v must share a dtype");
  TORCH_CHECK(block >= 1, "online_entropy_attention: block must be >= 1, got ", block);
  TORCH_CHECK(q.size(2) >= 1, "online_entropy_attention: empty sequence");
  auto outputs = OnlineEntropyAttentionFn::apply(q, k, v, block);
  return {outputs[0], outputs[1]};
}

}  // namespace entropix
