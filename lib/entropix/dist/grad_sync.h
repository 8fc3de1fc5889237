// Averages gradients over the ranks of a data-parallel job, in buckets that start all-reducing
// while backward is still running.
//
// Parameters are laid out, in reverse registration order (roughly the order backward produces
// their gradients: last layer first), into flat buckets of at most `bucket_bytes`. A hook on each
// parameter copies its gradient into its bucket as soon as autograd has it; a bucket whose
// gradients are all in starts its all-reduce in the background, while backward goes on with the
// earlier layers. Buckets always start in bucket order, on every rank, because collectives must be
// issued in the same order everywhere. finish() then starts the buckets some parameters of which got
// no gradient in this backward, waits for all of them, divides by the world size and writes the
// averages back into each parameter's .grad.
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "entropix/dist/communicator.h"

namespace entropix::dist {

// 25 MiB, as PyTorch's DistributedDataParallel: large enough that each all-reduce is efficient,
// small enough that the first starts well before backward ends on GPT-2-sized models.
constexpr int64_t kDefaultBucketBytes = 25 << 20;

class GradientSync {
 public:
  GradientSync(std::vector<torch::Tensor> params, std::shared_ptr<Communicator> comm,
               int64_t bucket_bytes = kDefaultBucketBytes);
  ~GradientSync();  // removes the hooks
  GradientSync(const GradientSync&) = delete;
  GradientSync& operator=(const GradientSync&) = delete;

  // Call right before the backward that completes a step's gradients (the last micro-batch's;
  // earlier micro-batches only accumulate locally). Each parameter's hook then writes .grad plus
  // the incoming gradient, i.e. the value .grad will hold after this backward, into its bucket.
  void arm();
  // Call after that backward: every .grad now holds the mean over the ranks. A parameter without
  // a gradient (.grad undefined, on every rank alike: the ranks run the same graph) stays so.
  void finish();

  size_t bucket_count() const { return buckets_.size(); }
  // Buckets of the last step whose all-reduce started during backward (overlapping it) rather
  // than in finish(). A parameter without a gradient holds back its bucket and, since buckets
  // start in order, every later one: the entropy regulariser's thresholds before its start_step.
  size_t started_in_backward() const { return started_in_backward_; }

 private:
  struct Slot {
    size_t param = 0;    // index into params_
    size_t bucket = 0;
    int64_t offset = 0;  // in elements, into the bucket's flat buffer
    bool filled = false;
  };
  struct Bucket {
    torch::Tensor flat;       // all its parameters' gradients, flattened, one dtype and device
    std::vector<size_t> slots;
    size_t missing = 0;       // slots not yet filled in this step
    bool started = false;
    Pending reduce;
  };

  void on_gradient(size_t slot, const torch::Tensor& grad);
  // Starts, in order, every bucket from next_to_start_ on that is complete.
  void start_ready_buckets();
  void start(Bucket& b);

  std::vector<torch::Tensor> params_;
  std::shared_ptr<Communicator> comm_;
  std::vector<Slot> slots_;          // one per parameter, same order as params_
  std::vector<Bucket> buckets_;
  std::vector<unsigned> hook_ids_;
  size_t next_to_start_ = 0;
  size_t started_in_backward_ = 0;
  bool armed_ = false;
  std::mutex mutex_;  // hooks run on autograd's threads (one per device)
};

}  // namespace entropix::dist
