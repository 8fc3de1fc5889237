#include "entropix/dist/communicator.h"

#include <cstdlib>

#include "entropix/dist/c10d_compat.h"
#include "entropix/util/error.h"

namespace entropix::dist {
namespace {

// The first line of an exception's message: c10 errors append a backtrace.
std::string first_line(const std::exception& e) {
  std::string s = e.what();
  return s.substr(0, s.find('\n'));
}

std::string seconds(std::chrono::milliseconds t) { return std::to_string(t.count() / 1000) + " s"; }

#if defined(ENTROPIX_HAVE_GLOO)
bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

// The network device Gloo binds to: the interface GLOO_SOCKET_IFNAME names (as PyTorch's own
// launcher honours), the loopback device when rank 0 is on this machine's loopback address (all
// ranks local), else the address this machine's hostname resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname)
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

}  // namespace

struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<compat::ProcessGroupBase> group;
  std::string backend;
  torch::Device tensor_device{torch::kCPU};  // where small vectors travel: CUDA for NCCL
};

std::string backend_for(torch::DeviceType device_type) {
#if defined(ENTROPIX_HAVE_NCCL)
  if (device_type == torch::kCUDA) return "nccl";
#endif
#if defined(ENTROPIX_HAVE_GLOO)
  // Gloo reduces CUDA tensors too (through host memory) in CUDA builds of LibTorch.
  if (device_type == torch::kCPU || device_type == torch::kCUDA) return "gloo";
#endif
  (void)device_type;
  return "";
}

void Pending::wait() {
  if (!wait_) return;
  auto w = std::move(wait_);
  wait_ = nullptr;
  w();
}

Communicator::Communicator(int rank, int world_size, std::chrono::milliseconds timeout, std::unique_ptr<Impl> impl)
    : rank_(rank), world_size_(world_size), timeout_(timeout), impl_(std::move(impl)) {}

Communicator::~Communicator() = default;

std::shared_ptr<Communicator> Communicator::single() {
  return std::shared_ptr<Communicator>(new Communicator(0, 1, std::chrono::seconds(kDefaultTimeoutSeconds), nullptr));
}

std::shared_ptr<Communicator> Communicator::connect(const LaunchEnv& env, torch::Device device,
                                                    std::chrono::milliseconds timeout) {
  if (!env.distributed()) return single();
  const std::string backend = backend_for(device.type());
  if (backend.empty())
    throw InputError("data-parallel training on " + device.str() + " needs a c10d backend this build lacks (" +
                     (device.is_cuda() ? "NCCL or Gloo" : "Gloo, from libgloo-dev") +
                     "); see docs/distributed.md, \"Building\"");
  auto impl = std::make_unique<Impl>();
  impl->backend = backend;
  const std::string where = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.master_port);
    // Rank 0 serves the store and waits for everyone to connect, unless torchrun's agent serves it.
    options.isServer = env.rank == 0 && !env.store_served_by_launcher;
    options.numWorkers = static_cast<size_t>(env.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    // A launcher's store outlives restarted attempts and holds its own keys: ours get a prefix.
    impl->store = c10::make_intrusive<c10d::PrefixStore>(
        "entropix/attempt_" + std::to_string(env.restart_count),
        c10::make_intrusive<c10d::TCPStore>(env.master_addr, options));
#if defined(ENTROPIX_HAVE_NCCL)
    if (backend == "nccl") {
      c10::cuda::set_device(device.index());
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      impl->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, env.rank, env.world_size, nccl);
      impl->tensor_device = device;
    }
#endif
#if defined(ENTROPIX_HAVE_GLOO)
    if (backend == "gloo") {
      auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
      gloo->devices.push_back(gloo_device(env.master_addr));
      impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, env.rank, env.world_size, gloo);
    }
#endif
  } catch (const std::exception& e) {
    throw CommError("rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) +
                    ": could not meet the other ranks at " + where + " (" + env.launcher + " launch, timeout " +
                    seconds(timeout) + "): " + first_line(e));
  }
  return std::shared_ptr<Communicator>(new Communicator(env.rank, env.world_size, timeout, std::move(impl)));
}

std::string Communicator::backend() const { return impl_ ? impl_->backend : "none"; }

Pending Communicator::sum_async(torch::Tensor tensor) {
  if (!impl_) return Pending();
  const std::string who = "rank " + std::to_string(rank_) + ": ";
  const std::string why = " (another rank failed or stopped, or did not answer within " + seconds(timeout_) + ")";
  c10::intrusive_ptr<c10d::Work> work;
  try {
    std::vector<at::Tensor> tensors = {tensor};
    work = impl_->group->allreduce(tensors);
  } catch (const std::exception& e) {
    throw CommError(who + "all-reduce failed: " + first_line(e) + why);
  }
  return Pending([work, who, why] {
    try {
      work->wait();
    } catch (const std::exception& e) {
      throw CommError(who + "all-reduce failed: " + first_line(e) + why);
    }
  });
}

std::vector<double> Communicator::sum(const std::vector<double>& values) {
  if (!impl_ || values.empty()) return values;
  auto t = torch::tensor(values, torch::kFloat64).to(impl_->tensor_device);
  sum(t);
  t = t.to(torch::kCPU);
  return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
}

double Communicator::max(double value) {
  if (!impl_) return value;
  auto t = torch::tensor({value}, torch::kFloat64).to(impl_->tensor_device);
  try {
    std::vector<at::Tensor> tensors = {t};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::MAX;
    impl_->group->allreduce(tensors, options)->wait();
  } catch (const std::exception& e) {
    throw CommError("rank " + std::to_string(rank_) + ": all-reduce failed: " + first_line(e));
  }
  return t.to(torch::kCPU).item<double>();
}

void Communicator::broadcast_from_main(const std::vector<torch::Tensor>& tensors) {
  if (!impl_) return;
  torch::NoGradGuard no_grad;
  for (const auto& t : tensors) {
    // One tensor at a time: this runs once per run (start, resume), so simplicity wins over speed.
    std::vector<at::Tensor> one = {t.is_contiguous() ? t.detach() : t.contiguous()};
    try {
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      impl_->group->broadcast(one, options)->wait();
    } catch (const std::exception& e) {
      throw CommError("rank " + std::to_string(rank_) + ": broadcast failed: " + first_line(e));
    }
    if (!t.is_contiguous()) t.copy_(one.front());
  }
}

namespace {
const char* kSetupKey = "entropix/setup";
}

void Communicator::announce_setup(const std::string& failure) {
  if (!impl_) return;
  const std::string value = "done:" + failure;
  impl_->store->set(kSetupKey, std::vector<uint8_t>(value.begin(), value.end()));
}

std::string Communicator::await_setup() {
  if (!impl_) return "";
  std::vector<uint8_t> raw;
  try {
    raw = impl_->store->get(kSetupKey);  // blocks until rank 0 sets it, at most the store's timeout
  } catch (const std::exception& e) {
    throw CommError("rank " + std::to_string(rank_) + ": rank 0 did not finish setting up the run within " +
                    seconds(timeout_) + " or stopped: " + first_line(e));
  }
  return std::string(raw.begin(), raw.end()).substr(5);
}

}  // namespace entropix::dist
