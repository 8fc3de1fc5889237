#include "entropix/train/run_plan.h"

#include "entropix/data/batches.h"
#include "entropix/data/sampling.h"
#include "entropix/metrics/run_dir.h"
#include "entropix/metrics/run_status.h"
#include "entropix/model/registry.h"
#include "entropix/util/error.h"
#include "entropix/util/fs.h"

namespace entropix {
namespace fs = std::filesystem;

namespace {

// Where a resumed run lives: --out when given; else the run directory holding the checkpoint
// named by --resume PATH; else runs/<name>.
fs::path resumed_run_dir(const ExperimentSpec& spec, const RunOptions& options) {
  if (!options.out_dir.empty()) return options.out_dir;
  if (options.resume != "auto") {
    const fs::path p = fs::absolute(options.resume).lexically_normal();
    if (fs::is_directory(p / "checkpoints")) return options.resume;
    if (p.parent_path().filename() == "checkpoints") return p.parent_path().parent_path();
    if (fs::is_directory(p) && p.filename() == "checkpoints") return p.parent_path();
  }
  return fs::path("runs") / spec.name;
}

bool same_directory(const fs::path& a, const fs::path& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

// The checks a resume must pass before anything is written: the newest checkpoint's spec
// differs from `spec` only in resumable keys, its step is not past train.steps, and it was written
// by as many ranks as resume it (the global batch is world_size x train.batch_size).
void check_resumable(const ResumePoint& point, const ExperimentSpec& spec, int world_size) {
  const auto differences = resume_spec_differences(parse_spec(point.meta.spec_yaml, point.checkpoint.string()), spec);
  if (!differences.empty()) {
    std::vector<std::string> problems = {
        "cannot resume from " + point.checkpoint.string() +
        ": the spec differs from the checkpoint's in keys that must match (docs/cli.md, \"Resuming\", lists the keys that may change):"};
    for (const auto& d : differences) problems.push_back("  " + d);
    throw InputError(problems);
  }
  if (point.meta.step > spec.train.steps)
    throw InputError(point.checkpoint.string() + ": checkpoint is at step " + std::to_string(point.meta.step) +
                     ", past train.steps " + std::to_string(spec.train.steps) + "; raise train.steps to continue it");
  if (point.meta.world_size != world_size)
    throw InputError(point.checkpoint.string() + ": written by a run of " + std::to_string(point.meta.world_size) +
                     " rank(s), resumed by " + std::to_string(world_size) + "; resume it with " +
                     std::to_string(point.meta.world_size) + " (each batch holds ranks x train.batch_size rows)");
}

}  // namespace

RunPlan plan_run(const ExperimentSpec& spec, const RunOptions& options, int world_size) {
  RunPlan plan;
  // Large shards without a token-check sidecar are checked while training runs (BackgroundTokenCheck).
  plan.data = load_data(spec, TokenCheck::deferred);
  for (const auto& t : {plan.data.train, plan.data.val})  // throws if too short (windows: the cheap check)
    BatchSampler(t, spec.train.batch_size, spec.model.context, spec.seed, 0);
  if (spec.data.sampling == "documents")  // the end-of-text id is found, before anything is written
    for (const auto& t : {plan.data.train, plan.data.val}) sampling_for(spec, *t, world_size);

  const bool resuming = !options.resume.empty();
  if (resuming && options.overwrite)
    throw InputError("--resume and --overwrite exclude each other: --overwrite starts the run again from scratch");
  if (options.stop_after < 0) throw InputError("--stop-after: must be a step >= 1");
  const fs::path run_dir = resuming ? resumed_run_dir(spec, options)
                           : options.out_dir.empty() ? fs::path("runs") / spec.name
                                                     : options.out_dir;
  plan.run_dir = run_dir;

  std::vector<ResumePoint>& candidates = plan.candidates;
  std::vector<std::string>& warnings = plan.warnings;
  if (resuming) {
    const fs::path source = options.resume == "auto" ? run_dir : fs::path(options.resume);
    std::error_code ec;
    if (options.resume != "auto" && !fs::exists(source, ec))
      throw InputError("--resume " + options.resume + ": no such file or directory (expected a checkpoint file, a run directory or auto)");
    if (options.resume == "auto" && !fs::is_directory(run_dir, ec)) {
      // Nothing to resume: a fresh start, as "auto" promises.
    } else {
      // Printed (stderr) and logged as events once the run starts.
      candidates = resume_candidates(source, [&](const std::string& w) { warnings.push_back(w); });
    }
    if (candidates.empty() && !warnings.empty()) {
      // Never start afresh over checkpoints that exist but cannot be read: someone should look.
      std::vector<std::string> problems = {run_dir.string() + ": no readable checkpoint to resume from:"};
      for (const auto& w : warnings) problems.push_back("  " + w);
      throw InputError(problems);
    }
    if (candidates.empty() && options.resume != "auto")
      throw InputError("--resume " + options.resume + ": no complete checkpoint to resume from");
    if (candidates.empty() && read_run_status(run_dir) == RunStatus::completed)
      throw InputError(run_dir.string() + ": holds a completed run but no checkpoint to resume from; pass --overwrite "
                       "(without --resume) to train it again");
  }
  if (!candidates.empty()) {
    check_resumable(candidates.front(), spec, world_size);
    if (options.stop_after > 0 && options.stop_after <= candidates.front().meta.step)
      throw InputError("--stop-after " + std::to_string(options.stop_after) + ": the run resumes after step " +
                       std::to_string(candidates.front().meta.step) + "; give a later step");
    plan.already_completed =
        candidates.front().meta.step == spec.train.steps && read_run_status(run_dir) == RunStatus::completed;
  }
  return plan;
}

void prepare_run(const RunPlan& plan, const ExperimentSpec& spec, const RunOptions& options) {
  const fs::path& run_dir = plan.run_dir;
  const bool continue_in_place =
      !plan.candidates.empty() && same_directory(plan.candidates.front().checkpoint.parent_path(), run_dir / "checkpoints");
  if (continue_in_place) {
    // The spec now in force (train.steps may have changed); every invocation's command line.
    write_file_atomic(run_dir / "spec.yaml", spec_to_yaml(spec));
    std::string commands;
    std::error_code ec;
    if (fs::exists(run_dir / "command.txt", ec)) commands = read_file(run_dir / "command.txt");
    write_file_atomic(run_dir / "command.txt", commands + options.command_line + "\n");
  } else {
    // A fresh run, or a fork of another run's checkpoint into a new directory. "auto" without a
    // checkpoint replaces an unfinished attempt that never reached one.
    const bool resuming = !options.resume.empty();
    prepare_run_directory(run_dir, /*overwrite=*/options.overwrite || (resuming && plan.candidates.empty()));
    write_file_atomic(run_dir / "spec.yaml", spec_to_yaml(spec));
    write_file_atomic(run_dir / "command.txt", options.command_line + "\n");
  }
}

RunPlan plan_and_prepare(const ExperimentSpec& spec, const RunOptions& options, dist::Communicator& comm) {
  if (!comm.is_main()) {
    const std::string failure = comm.await_setup();
    const std::string rank = "rank " + std::to_string(comm.rank()) + ": ";
    if (failure.rfind("input", 0) == 0) throw InputError(rank + "stopping: rank 0 refused the input (see its error)");
    if (!failure.empty()) throw std::runtime_error(rank + "stopping: rank 0 failed to set up the run (see its error)");
    return plan_run(spec, options, comm.world_size());
  }
  try {
    RunPlan plan = plan_run(spec, options, comm.world_size());
    if (!plan.already_completed) prepare_run(plan, spec, options);
    comm.announce_setup("");
    return plan;
  } catch (const InputError&) {
    comm.announce_setup("input");
    throw;
  } catch (...) {
    comm.announce_setup("failure");
    throw;
  }
}

}  // namespace entropix
