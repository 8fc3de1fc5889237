// Recursive removal without std::filesystem::remove_all.
//
// Why: the CUDA LibTorch 2.11 wheel's libtorch.so exports its own copy of
// std::filesystem::remove_all, which the dynamic linker binds ahead of libstdc++'s, and that copy
// crashes (a call through a null pointer; seen on an H200 machine, 2026-11-28, every test that
// removed a directory). Everything in entropix that removes a tree goes through this instead.
#pragma once
#include <filesystem>

namespace entropix {

// Removes `path` and, when it is a directory, everything below it (symbolic links are removed,
// not followed). A missing path counts as removed. Returns false when something could not be
// removed; never throws.
bool remove_tree(const std::filesystem::path& path) noexcept;

}  // namespace entropix
