// Where a run came from, for summary.json: the git state of the spec's repository and the host.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

#include "entropix/metrics/records.h"

namespace entropix {

// HEAD of the git repository that holds `dir`, and whether tracked files differ from it
// (`git -C dir rev-parse HEAD`, `git -C dir status --porcelain --untracked-files=no`; untracked
// files do not count, so run directories inside the repository leave it clean). nullopt when
// `dir` is in no repository, git is not installed, or git refuses the directory.
std::optional<SummaryRecord::Git> git_state(const std::filesystem::path& dir);

// This machine's host name ("" if it cannot be read).
std::string host_name();

}  // namespace entropix
