// The c10d headers entropix uses and the one place where LibTorch 1.13 and 2.x differ for them.
// Include only from lib/entropix/dist/*.cpp: these headers are heavy and need the USE_C10D_*
// definitions that LibTorch's CMake targets carry.
//
// ENTROPIX_HAVE_GLOO / ENTROPIX_HAVE_NCCL come from CMakeLists.txt, which defines each only when a
// test program using that process group compiles and links against this LibTorch (Debian's 1.13:
// Gloo with libgloo-dev; the PyPI wheel: NCCL, and Gloo only where gloo's headers are installed).
//
// API facts, checked against 1.13.1 (Debian) and 2.x (the PyPI wheel's headers):
//  - the same in both: TCPStore(host, TCPStoreOptions{port, isServer, numWorkers, waitWorkers,
//    timeout}); PrefixStore(prefix, store); ProcessGroupGloo(intrusive_ptr<Store>, rank, size, intrusive_ptr<Options>) with
//    Options::create(timeout), options->devices, createDeviceForHostname/Interface,
//    createDefaultDevice; ProcessGroupNCCL(store, rank, size, Options::create()) with
//    options->timeout; allreduce/broadcast(std::vector<at::Tensor>&, opts) returning
//    intrusive_ptr<c10d::Work>; ReduceOp::SUM / MAX.
//  - different: 1.13's process groups derive from c10d::ProcessGroup; 2.0 split that into a
//    dispatching ProcessGroup and per-device c10d::Backend classes, which Gloo and NCCL now derive
//    from. Holding them through ProcessGroupBase below covers both.
#pragma once
#include <torch/version.h>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
// The process-group interface, its options and Work, also when no backend is compiled in.
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#if defined(ENTROPIX_HAVE_GLOO)
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(ENTROPIX_HAVE_NCCL)
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace entropix::dist::compat {

#if TORCH_VERSION_MAJOR >= 2
using ProcessGroupBase = c10d::Backend;
#else
using ProcessGroupBase = c10d::ProcessGroup;
#endif

}  // namespace entropix::dist::compat
