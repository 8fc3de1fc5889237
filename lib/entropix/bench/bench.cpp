#include "entropix/bench/bench.h"

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>

#include "entropix/bench/peak.h"
#include "entropix/bench/step_stats.h"
#include "entropix/data/batches.h"
#include "entropix/data/sampling.h"
#include "entropix/data/source.h"
#include "entropix/describe/describe.h"
#include "entropix/entropy/entropy.h"
#include "entropix/model/gpt.h"
#include "entropix/train/setup.h"
#include "entropix/train/train_step.h"
#include "entropix/util/error.h"
#include "entropix/util/openblas.h"
#include "entropix/util/torch_compat.h"
#include "entropix/version.h"

namespace entropix {
namespace {

using Clock = std::chrono::steady_clock;

std::string iso_time_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The first "model name" line of /proc/cpuinfo ("" where there is none).
std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) break;
    const auto start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

// The 1, 5 and 15 minute load averages (null where /proc/loadavg is unreadable): the machine may
// be shared, and figures mean little without it.
nlohmann::json load_average() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(in >> a >> b >> c)) return nullptr;
  return {a, b, c};
}

int64_t max_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

// Batches for the benchmark: the spec's training data through run's sampler, or random tokens.
class BatchSource {
 public:
  BatchSource(const ExperimentSpec& spec, const std::string& kind, torch::Device device)
      : device_(device), batch_(spec.train.batch_size), context_(spec.model.context), vocab_(spec.model.vocab_size) {
    if (kind == "spec") {
      const auto train = load_data(spec).train;
      sampler_ = std::make_unique<BatchSampler>(train, batch_, context_, spec.seed, /*stream=*/0, 0,
                                                sampling_for(spec, *train));
    } else if (kind != "synthetic") {
      throw InputError("--data: unknown source '" + kind + "'; valid: synthetic, spec");
    }
  }
  Batch next() {
    if (sampler_) {
      auto [x, y] = sampler_->next();
      return {x.to(device_), y.to(device_)};
    }
    const torch::Tensor tokens = torch::randint(0, vocab_, {batch_, context_ + 1}, torch::kLong);  // (B, T+1)
    using torch::indexing::Slice;
    return {tokens.index({Slice(), Slice(0, context_)}).to(device_),
            tokens.index({Slice(), Slice(1, context_ + 1)}).to(device_)};
  }

 private:
  torch::Device device_;
  int64_t batch_, context_, vocab_;
  std::unique_ptr<BatchSampler> sampler_;
};

// Optimizer steps exactly as `run` takes them: the model and optimizer built as `run` builds them,
// TrainStep (scheduled learning rate, forward and backward over the micro-batches, the regulariser
// from entropy_reg.start_step on, global-norm clip, AdamW), numbered 1, 2, ... as a run's first
// steps; plus the entropy measurement of `entropy_mode` when it is not "none". Returns each step's
// wall time in ms, device work included.
class StepRunner {
 public:
  StepRunner(const ExperimentSpec& spec, torch::Device device, BatchSource& batches)
      : spec_(spec), device_(device), batches_(batches), built_(build_training_model(spec, device)),
        step_(built_.model, spec, built_.optimizer.get()) {}

  double step(const std::string& entropy_mode) {
    const auto start = Clock::now();
    std::vector<Batch> micro;
    for (int64_t m = 0; m < spec_.train.grad_accum; ++m) micro.push_back(batches_.next());
    ForwardResult attention;
    const StepResult r = step_.run(++steps_, micro, entropy_mode == "step" ? &attention : nullptr);
    last_loss_ = r.loss;
    if (entropy_mode == "step") {
      last_entropy_ = measure_attention_entropy(attention, steps_, "step", spec_.log.bin_max).layerwise;
    } else if (entropy_mode == "forward") {
      // As run's records for log.entropy_split train and val: a forward of its own, no graph.
      last_entropy_ = batch_entropy(built_.model, micro.front(), steps_, "train", spec_.log.bin_max).layerwise;
    }
    compat::synchronize(device_);
    return 1000.0 * std::chrono::duration<double>(Clock::now() - start).count();
  }

  GPT& model() { return built_.model; }
  double last_loss() const { return last_loss_; }

 private:
  const ExperimentSpec& spec_;
  torch::Device device_;
  BatchSource& batches_;
  TrainingModel built_;
  TrainStep step_;
  int64_t steps_ = 0;  // taken so far: the number of the next one is steps_ + 1
  double last_loss_ = 0;
  std::vector<double> last_entropy_;
};

void check_options(const BenchOptions& o) {
  std::vector<std::string> problems;
  if (o.steps < 1) problems.push_back("--steps: must be >= 1, got " + std::to_string(o.steps));
  if (o.warmup < 0) problems.push_back("--warmup: must be >= 0, got " + std::to_string(o.warmup));
  if (o.peak_size < 1) problems.push_back("--peak-size: must be >= 1, got " + std::to_string(o.peak_size));
  if (o.peak_repeats < 1) problems.push_back("--peak-repeats: must be >= 1, got " + std::to_string(o.peak_repeats));
  if (o.entropy != "step" && o.entropy != "forward" && o.entropy != "none")
    problems.push_back("--entropy: unknown mode '" + o.entropy + "'; valid: step, forward, none");
  if (!problems.empty()) throw InputError(problems);
}

// An environment variable's value, null when unset.
nlohmann::json env_or_null(const char* name) {
  const char* value = std::getenv(name);
  return value ? nlohmann::json(value) : nlohmann::json(nullptr);
}

std::string fixed(double v, int digits) {
  std::ostringstream ss;
  ss << std::fixed << std::setprecision(digits) << v;
  return ss.str();
}

}  // namespace

nlohmann::json training_flops(const ExperimentSpec& spec) {
  const auto& m = spec.model;
  const double blocks = forward_flops(m)["total"].get<double>();
  const double lm_head = 2.0 * static_cast<double>(m.context) * static_cast<double>(m.n_embd) *
                         static_cast<double>(m.vocab_size);
  const double forward = blocks + lm_head;
  const int64_t sequences = spec.train.batch_size * spec.train.grad_accum;
  return {{"forward_blocks_per_sequence", blocks},
          {"lm_head_per_sequence", lm_head},
          {"forward_per_sequence", forward},
          {"sequences_per_step", sequences},
          {"train_per_step", 3.0 * forward * static_cast<double>(sequences)}};
}

nlohmann::json run_bench(const ExperimentSpec& spec, const BenchOptions& options) {
  check_options(options);
  auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };
  const torch::Device device = resolve_device(options.device.empty() ? spec.train.device : options.device);
  if (spec.train.precision == "bf16" && !device.is_cuda() && !device.is_cpu())
    throw InputError("train.precision: bf16 needs a CPU or CUDA device");
  const int threads = resolve_threads(spec.train.threads);
  set_compute_threads(threads);
  compat::set_tf32(spec.train.tf32);
  BatchSource batches(spec, options.data, device);
  StepRunner runner(spec, device, batches);

  const auto flops = training_flops(spec);
  const int64_t tokens_per_step = spec.train.batch_size * spec.train.grad_accum * spec.model.context;
  const BlasInfo blas = blas_info();
  progress("bench " + spec.name + ": " + device.str() + ", " + std::to_string(threads) + " thread(s)" +
           (blas.openblas ? ", OpenBLAS " + blas.core : std::string()) + ", precision " + spec.train.precision +
           ", " + spec.train.attention_kernel + " attention kernel; " +
           std::to_string(spec.train.batch_size * spec.train.grad_accum) + " x " +
           std::to_string(spec.model.context) + " = " + std::to_string(tokens_per_step) + " tokens/step");

  const std::string entropy_mode = options.entropy;
  const bool with_entropy = entropy_mode != "none";
  if (spec.entropy_reg.enabled && spec.entropy_reg.start_step > 1) {
    const int64_t taken = (options.warmup + options.steps) * (with_entropy ? 2 : 1);
    progress("entropy_reg.start_step is " + std::to_string(spec.entropy_reg.start_step) + ": as in a run, steps before it " +
             "have no regulariser term; bench takes steps 1 to " + std::to_string(taken) +
             " (--set entropy_reg.start_step=0 times the regularised step)");
  }
  progress("warm-up: " + std::to_string(options.warmup) + " step(s)" + (with_entropy ? " of each kind" : ""));
  for (int64_t i = 0; i < options.warmup; ++i) {
    runner.step("none");
    if (with_entropy) runner.step(entropy_mode);
  }
  compat::reset_cuda_peak_memory(device);

  // Plain and entropy steps alternate, so a change in the machine's load hits both alike, and
  // swap order every other pair (plain first, then entropy first), so neither kind always
  // follows the other.
  std::vector<double> plain_ms, entropy_ms;
  for (int64_t i = 0; i < options.steps; ++i) {
    const bool entropy_first = with_entropy && i % 2 == 1;
    if (entropy_first) entropy_ms.push_back(runner.step(entropy_mode));
    plain_ms.push_back(runner.step("none"));
    if (with_entropy && !entropy_first) entropy_ms.push_back(runner.step(entropy_mode));
    std::string line = "step " + std::to_string(i + 1) + "/" + std::to_string(options.steps) + ": " +
                       fixed(plain_ms.back(), 1) + " ms";
    if (with_entropy) line += ", with entropy " + fixed(entropy_ms.back(), 1) + " ms";
    progress(line + ", loss " + fixed(runner.last_loss(), 4));
  }
  const int64_t rss = max_rss_bytes();  // before the peak matmul's own buffers
  const std::optional<int64_t> cuda_peak = compat::cuda_peak_allocated_bytes(device);

  if (!options.profile.empty()) {
    // With --entropy, steps with a record: the plain step's profile is bench's without --entropy.
    progress("profiling 2 steps" + std::string(with_entropy ? " with an entropy record" : "") + " into " +
             options.profile.string());
    const compat::OperatorTrace trace(options.profile.string(), device.is_cuda());
    for (int i = 0; i < 2; ++i) runner.step(with_entropy ? entropy_mode : "none");
  }

  const torch::ScalarType peak_dtype = spec.train.precision == "bf16" ? torch::kBFloat16 : torch::kFloat;
  const MatmulPeak peak = measure_matmul_peak(device, peak_dtype, options.peak_size, options.peak_repeats);
  progress("peak: " + std::to_string(peak.n) + "^3 " + (peak_dtype == torch::kFloat ? "fp32" : "bf16") +
           " matmul, best of " + std::to_string(peak.repeats) + ": " + fixed(peak.flops_per_s / 1e9, 1) + " GFLOP/s");

  const TimeSummary plain = summarise(plain_ms);
  const double achieved = flops["train_per_step"].get<double>() / (plain.median / 1000.0);
  nlohmann::json result = {
      {"schema", "entropix-bench/1"},
      {"name", spec.name},
      {"command", options.command_line},
      {"started_at", iso_time_now()},
      {"versions", {{"entropix", ENTROPIX_VERSION}, {"libtorch", compat::torch_version()}}},
      {"device",
       {{"type", device.is_cuda() ? "cuda" : "cpu"},
        {"name", device.is_cuda() ? device.str() : cpu_model_name()},
        {"threads", torch::get_num_threads()},
        {"openmp_wait_policy", env_or_null("OMP_WAIT_POLICY")},
        {"openmp_spin_count", env_or_null("GOMP_SPINCOUNT")},
        {"blas",
         blas.openblas ? nlohmann::json{{"library", blas.config},
                                        {"kernels", blas.core},
                                        {"detected", blas.detected.empty() ? blas.core : blas.detected},
                                        {"threads", blas.threads}}
                       : nlohmann::json(nullptr)},
        {"load_average", load_average()}}},
      {"model",
       {{"n_layer", spec.model.n_layer},
        {"n_head", spec.model.n_head},
        {"n_embd", spec.model.n_embd},
        {"context", spec.model.context},
        {"vocab_size", spec.model.vocab_size},
        {"params", runner.model()->parameter_count()}}},
      {"batch",
       {{"batch_size", spec.train.batch_size},
        {"grad_accum", spec.train.grad_accum},
        {"tokens_per_step", tokens_per_step}}},
      {"precision", spec.train.precision},
      {"tf32", spec.train.tf32},
      {"attention_kernel", spec.train.attention_kernel},
      {"data", options.data},
      {"steps", options.steps},
      {"warmup", options.warmup},
      {"ms_per_step", to_json(plain)},
      {"tokens_per_s", static_cast<double>(tokens_per_step) / (plain.median / 1000.0)},
      {"flops", flops},
      {"achieved_flops_per_s", achieved},
      {"peak",
       {{"flops_per_s", peak.flops_per_s},
        {"matmul", {peak.n, peak.n, peak.n}},
        {"dtype", peak_dtype == torch::kFloat ? "fp32" : "bf16"},
        {"repeats", peak.repeats},
        {"best_ms", peak.best_ms}}},
      {"mfu", achieved / peak.flops_per_s},
  };
  if (device.is_cuda()) {
    result["memory"] = {{"source", cuda_peak ? "cuda_caching_allocator" : "unavailable"},
                        {"peak_bytes", cuda_peak ? nlohmann::json(*cuda_peak) : nlohmann::json(nullptr)}};
  } else {
    result["memory"] = {{"source", "max_rss"}, {"peak_bytes", rss}};
  }
  if (with_entropy) {
    const TimeSummary with = summarise(entropy_ms);
    result["entropy"] = {{"mode", entropy_mode},
                         {"ms_per_step", to_json(with)},
                         {"overhead_ratio", with.median / plain.median}};
  } else {
    result["entropy"] = {{"mode", "none"}, {"ms_per_step", nullptr}, {"overhead_ratio", nullptr}};
  }
  if (!options.profile.empty()) result["profile"] = options.profile.string();
  return result;
}

std::string bench_text(const nlohmann::json& r) {
  std::ostringstream out;
  const auto& ms = r["ms_per_step"];
  out << r["name"].get<std::string>() << " on " << r["device"]["type"].get<std::string>() << " ("
      << r["device"]["threads"].get<int>() << " thread(s)";
  if (!r["device"]["blas"].is_null()) out << ", OpenBLAS " << r["device"]["blas"]["kernels"].get<std::string>();
  if (!r["device"]["openmp_spin_count"].is_null())
    out << ", OpenMP spin " << r["device"]["openmp_spin_count"].get<std::string>();
  out << "), " << r["precision"].get<std::string>() << ", " << r["batch"]["tokens_per_step"].get<int64_t>()
      << " tokens/step\n";
  out << "  ms/step      median " << fixed(ms["median"].get<double>(), 1) << "  (min " << fixed(ms["min"].get<double>(), 1)
      << ", p10 " << fixed(ms["p10"].get<double>(), 1) << ", p90 " << fixed(ms["p90"].get<double>(), 1) << ", max "
      << fixed(ms["max"].get<double>(), 1) << ")\n";
  out << "  tokens/s     " << fixed(r["tokens_per_s"].get<double>(), 0) << "\n";
  out << "  FLOP/s       " << fixed(r["achieved_flops_per_s"].get<double>() / 1e9, 1) << " G (training = 3 x forward, "
      << fixed(r["flops"]["train_per_step"].get<double>() / 1e9, 2) << " GFLOP/step)\n";
  out << "  peak         " << fixed(r["peak"]["flops_per_s"].get<double>() / 1e9, 1) << " GFLOP/s ("
      << r["peak"]["matmul"][0].get<int64_t>() << "^3 " << r["peak"]["dtype"].get<std::string>() << " matmul)\n";
  out << "  MFU          " << fixed(100.0 * r["mfu"].get<double>(), 1) << "%\n";
  const auto& mem = r["memory"];
  out << "  peak memory  "
      << (mem["peak_bytes"].is_null() ? std::string("n/a")
                                      : fixed(mem["peak_bytes"].get<double>() / (1024.0 * 1024.0), 1) + " MiB")
      << " (" << mem["source"].get<std::string>() << ")\n";
  if (!r["entropy"]["overhead_ratio"].is_null())
    out << "  entropy      x" << fixed(r["entropy"]["overhead_ratio"].get<double>(), 3) << " step time with a record every step ("
        << r["entropy"]["mode"].get<std::string>() << ", " << r["attention_kernel"].get<std::string>()
        << " attention kernel)\n";
  return out.str();
}

}  // namespace entropix
