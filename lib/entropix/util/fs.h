// Small file-system helpers: atomic writes and whole-file reads.
#pragma once
#include <filesystem>
#include <string>

namespace entropix {

// Writes `content` to `path` atomically: a temporary file beside it, fsync, rename.
// A reader never sees a half-written file.
void write_file_atomic(const std::filesystem::path& path, const std::string& content);

// Reads a whole file; throws InputError naming the path when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// fsyncs a directory so a rename inside it is durable.
void fsync_directory(const std::filesystem::path& dir);

}  // namespace entropix
