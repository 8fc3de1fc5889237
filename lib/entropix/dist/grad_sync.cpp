#include "entropix/dist/grad_sync.h"

#include <stdexcept>

namespace entropix::dist {

GradientSync::GradientSync(std::vector<torch::Tensor> params, std::shared_ptr<Communicator> comm, int64_t bucket_bytes)
    : comm_(std::move(comm)) {
  for (auto& p : params)
    if (p.requires_grad()) params_.push_back(p);
  slots_.resize(params_.size());
  // Lay the buckets out from the last parameter back: backward reaches the output layers first.
  std::vector<int64_t> sizes;  // elements per bucket
  int64_t bytes = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    const int64_t p_bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool fits = !buckets_.empty() && bytes + p_bytes <= bucket_bytes &&
                      buckets_.back().flat.scalar_type() == p.scalar_type() &&
                      buckets_.back().flat.device() == p.device();
    if (!fits) {
      buckets_.emplace_back();
      buckets_.back().flat = torch::empty({0}, p.options().requires_grad(false));  // holds dtype and device for now
      sizes.push_back(0);
      bytes = 0;
    }
    Slot& s = slots_[k];
    s.param = k;
    s.bucket = buckets_.size() - 1;
    s.offset = sizes.back();
    sizes.back() += p.numel();
    bytes += p_bytes;
    buckets_.back().slots.push_back(k);
  }
  for (size_t b = 0; b < buckets_.size(); ++b) {
    buckets_[b].flat = torch::zeros({sizes[b]}, buckets_[b].flat.options());
    buckets_[b].missing = buckets_[b].slots.size();
  }
  for (size_t k = 0; k < params_.size(); ++k)
    hook_ids_.push_back(params_[k].register_hook([this, k](torch::Tensor grad) { on_gradient(k, grad); }));
}

GradientSync::~GradientSync() {
  for (size_t k = 0; k < hook_ids_.size(); ++k) params_[k].remove_hook(hook_ids_[k]);
}

void GradientSync::arm() {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = true;
  started_in_backward_ = 0;
}

void GradientSync::on_gradient(size_t k, const torch::Tensor& grad) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;  // an earlier micro-batch: autograd accumulates it into .grad as usual
  torch::NoGradGuard no_grad;
  Slot& s = slots_[k];
  Bucket& b = buckets_[s.bucket];
  const auto& p = params_[k];
  auto view = b.flat.narrow(0, s.offset, p.numel());
  if (s.filled) {
    // Autograd hands a leaf its summed gradient once per backward; guard the invariant anyway.
    if (b.started) throw std::logic_error("GradientSync: a second gradient for a parameter whose bucket is reducing");
    view.add_(grad.reshape(-1));
    return;
  }
  // Hooks run before autograd adds `grad` into .grad: the step's gradient is .grad + grad, added in
  // the order autograd adds them, so one rank reproduces an unhooked backward bit for bit.
  view.copy_(grad.reshape(-1));
  if (p.grad().defined()) view.add_(p.grad().reshape(-1));
  s.filled = true;
  if (--b.missing == 0) {
    const size_t before = next_to_start_;
    start_ready_buckets();
    started_in_backward_ += next_to_start_ - before;
  }
}

void GradientSync::start(Bucket& b) {
  b.started = true;
  b.reduce = comm_->sum_async(b.flat);
}

void GradientSync::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].missing == 0) start(buckets_[next_to_start_++]);
}

void GradientSync::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  // Parameters that got no gradient from this backward: their .grad (from earlier micro-batches)
  // or zeros. Every rank runs the same graph, so the same parameters are missing everywhere.
  for (; next_to_start_ < buckets_.size(); ++next_to_start_) {
    Bucket& b = buckets_[next_to_start_];
    for (size_t k : b.slots) {
      Slot& s = slots_[k];
      if (s.filled) continue;
      auto view = b.flat.narrow(0, s.offset, params_[k].numel());
      if (params_[k].grad().defined()) view.copy_(params_[k].grad().reshape(-1));
      else view.zero_();
    }
    start(b);
  }
  const double world = comm_->world_size();
  for (auto& b : buckets_) {
    b.reduce.wait();
    if (world > 1) b.flat.div_(world);
    for (size_t k : b.slots) {
      auto& p = params_[k];
      if (p.grad().defined()) p.mutable_grad().copy_(b.flat.narrow(0, slots_[k].offset, p.numel()).view_as(p));
      slots_[k].filled = false;
    }
    b.missing = b.slots.size();
    b.started = false;
  }
  next_to_start_ = 0;
  armed_ = false;
}

}  // namespace entropix::dist
