// The ranks of a data-parallel job talking to each other over LibTorch's c10d: a TCPStore on rank
// 0 for rendezvous, and a Gloo (CPU tensors) or NCCL (CUDA tensors, when this LibTorch has it)
// process group for collectives. One process alone gets a Communicator whose collectives return
// their input, so callers need no special case. c10d's headers stay out of this one.
#pragma once
#include <torch/torch.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "entropix/dist/launch_env.h"

namespace entropix::dist {

// Seconds a rank waits for the others (rendezvous, each collective, rank 0's set-up) before it
// gives up with an error: `entropix run --dist-timeout`. A rank that dies is noticed sooner, when
// its connections close.
constexpr int kDefaultTimeoutSeconds = 300;

// Whether this build can run data-parallel jobs on `device_type` (Gloo for CPU; NCCL, or Gloo where
// NCCL is missing, for CUDA), and the backend it would use ("" when none).
std::string backend_for(torch::DeviceType device_type);

// A collective that was started and has not been waited for.
class Pending {
 public:
  Pending() = default;
  explicit Pending(std::function<void()> wait) : wait_(std::move(wait)) {}
  // Blocks until the collective is done; throws CommError when it failed. At most once.
  void wait();

 private:
  std::function<void()> wait_;
};

// A collective failed: another rank died, stopped or exceeded the timeout.
class CommError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  // One process: rank 0 of 1.
  static std::shared_ptr<Communicator> single();
  // Meets the other ranks of `env` (rank 0 serves the store at master_addr:master_port) and builds
  // the process group for tensors on `device`. CommError when they do not all arrive within
  // `timeout`; InputError when this build has no backend for the device.
  static std::shared_ptr<Communicator> connect(const LaunchEnv& env, torch::Device device,
                                               std::chrono::milliseconds timeout);
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  std::string backend() const;  // "gloo", "nccl", or "none" for one process
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Sums `tensor` over the ranks in place, in the background. Every rank must start the same
  // collectives in the same order.
  Pending sum_async(torch::Tensor tensor);
  void sum(torch::Tensor tensor) { sum_async(std::move(tensor)).wait(); }
  // Element-wise sum and maximum of small vectors of numbers (losses, flags) over the ranks.
  std::vector<double> sum(const std::vector<double>& values);
  double max(double value);
  // Copies rank 0's values into `tensors` on every rank.
  void broadcast_from_main(const std::vector<torch::Tensor>& tensors);

  // Rank 0 announces that its set-up is done ("" = fine, else the reason it failed); the other
  // ranks wait for that before they touch the run directory. Uses the rendezvous store.
  void announce_setup(const std::string& failure);
  std::string await_setup();

 private:
  struct Impl;
  Communicator(int rank, int world_size, std::chrono::milliseconds timeout, std::unique_ptr<Impl> impl);

  int rank_ = 0;
  int world_size_ = 1;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Impl> impl_;  // null for one process
};

}  // namespace entropix::dist
