# Finds LibTorch for entropix: Debian's libtorch-dev 1.13 or LibTorch 2.x (the one inside the PyPI
# torch wheel, or an unpacked libtorch zip), named through CMAKE_PREFIX_PATH.
#
# The PyPI wheel is built with CUDA, and its CMake config (Caffe2Config.cmake, public/cuda.cmake)
# stops with "Your installed Caffe2 version uses CUDA but I cannot find the CUDA libraries" when no
# CUDA toolkit (nvcc) is installed. The wheel's CPU library, libtorch_cpu.so, needs nothing from
# CUDA, so on such a machine entropix imports LibTorch's CPU libraries directly and builds
# CPU-only against the same wheel. ENTROPIX_TORCH_CUDA chooses:
#   AUTO  LibTorch's own config when it has no CUDA part or a CUDA toolkit is found, else CPU-only
#   ON    LibTorch's own config (fails without a CUDA toolkit if LibTorch was built with CUDA)
#   OFF   CPU-only import of a CUDA LibTorch even where a toolkit is installed
# Sets what find_package(Torch) sets and entropix uses: TORCH_LIBRARIES, TORCH_INCLUDE_DIRS,
# TORCH_INSTALL_PREFIX, TORCH_LIBRARY, and the imported targets torch and torch_cpu.
set(ENTROPIX_TORCH_CUDA AUTO CACHE STRING "LibTorch's CUDA part: AUTO, ON or OFF (see cmake/EntropixFindTorch.cmake)")
set_property(CACHE ENTROPIX_TORCH_CUDA PROPERTY STRINGS AUTO ON OFF)

# The LibTorch prefix CMake would take: Torch_DIR if given, else the first TorchConfig.cmake on the
# prefix path (the wheel's <torch>/share/cmake/Torch, a libtorch zip's share/cmake/Torch).
unset(_entropix_torch_config_dir)  # find_path searches only while the variable is unset
if(Torch_DIR AND EXISTS "${Torch_DIR}/TorchConfig.cmake")
  set(_entropix_torch_config_dir "${Torch_DIR}")
else()
  find_path(_entropix_torch_config_dir TorchConfig.cmake PATH_SUFFIXES Torch share/cmake/Torch NO_CACHE)
endif()

set(_entropix_torch_cpu_only OFF)
if(_entropix_torch_config_dir)
  get_filename_component(_entropix_torch_root "${_entropix_torch_config_dir}/../../.." ABSOLUTE)
  # A LibTorch built with CUDA ships libtorch_cuda.so; only then does its config probe for CUDA.
  if(EXISTS "${_entropix_torch_root}/lib/libtorch_cuda.so" AND EXISTS "${_entropix_torch_root}/lib/libtorch_cpu.so")
    if(ENTROPIX_TORCH_CUDA STREQUAL "OFF")
      set(_entropix_torch_cpu_only ON)
    elseif(ENTROPIX_TORCH_CUDA STREQUAL "AUTO")
      # The same probe LibTorch's config runs first (FindCUDA looks for nvcc); CUDAToolkit is
      # CMake's modern equivalent and needs no CUDA language enabled.
      find_package(CUDAToolkit QUIET)
      if(NOT CUDAToolkit_FOUND OR NOT CUDAToolkit_NVCC_EXECUTABLE)
        set(_entropix_torch_cpu_only ON)
        message(STATUS "No CUDA toolkit found: building CPU-only against ${_entropix_torch_root} "
                       "(-DENTROPIX_TORCH_CUDA=ON to require CUDA)")
      endif()
    endif()
  endif()
endif()

if(NOT _entropix_torch_cpu_only)
  find_package(Torch REQUIRED)
  return()
endif()

# CPU-only import: libtorch_cpu.so and libc10.so with the compile definitions LibTorch's own
# export file gives torch_cpu (USE_DISTRIBUTED, USE_C10D_GLOO, ...: the c10d headers depend on them).
set(TORCH_INSTALL_PREFIX "${_entropix_torch_root}")
set(TORCH_INCLUDE_DIRS "${TORCH_INSTALL_PREFIX}/include" "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include")
set(TORCH_LIBRARY "${TORCH_INSTALL_PREFIX}/lib/libtorch_cpu.so")
set(_entropix_torch_cpu_defs "")
set(_entropix_targets_file "${_entropix_torch_config_dir}/../Caffe2/Caffe2Targets.cmake")
if(EXISTS "${_entropix_targets_file}")
  file(READ "${_entropix_targets_file}" _entropix_targets)
  if(_entropix_targets MATCHES "set_target_properties\\(torch_cpu PROPERTIES\n  INTERFACE_COMPILE_DEFINITIONS \"([^\"]*)\"")
    set(_entropix_torch_cpu_defs "${CMAKE_MATCH_1}")
  endif()
endif()
add_library(c10 SHARED IMPORTED)
set_target_properties(c10 PROPERTIES
  IMPORTED_LOCATION "${TORCH_INSTALL_PREFIX}/lib/libc10.so"
  INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INSTALL_PREFIX}/include")
add_library(torch_cpu SHARED IMPORTED)
set_target_properties(torch_cpu PROPERTIES
  IMPORTED_LOCATION "${TORCH_LIBRARY}"
  INTERFACE_COMPILE_DEFINITIONS "${_entropix_torch_cpu_defs}"
  INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INCLUDE_DIRS}"
  INTERFACE_LINK_LIBRARIES c10)
add_library(torch INTERFACE IMPORTED)
# --no-as-needed: the CPU kernels register themselves from static initialisers in torch_cpu.
set_target_properties(torch PROPERTIES
  INTERFACE_LINK_LIBRARIES "-Wl,--no-as-needed,${TORCH_LIBRARY} -Wl,--as-needed;torch_cpu"
  INTERFACE_INCLUDE_DIRECTORIES "${TORCH_INCLUDE_DIRS}")
# Recent LibTorch 2.x headers need C++20: raise the standard where its own config does.
file(READ "${_entropix_torch_config_dir}/TorchConfig.cmake" _entropix_torch_config)
if(_entropix_torch_config MATCHES "cxx_std_20")
  target_compile_features(torch INTERFACE cxx_std_20)
endif()
set(TORCH_LIBRARIES torch)
set(Torch_FOUND TRUE)
set(TORCH_FOUND TRUE)
message(STATUS "Found Torch (CPU-only): ${TORCH_LIBRARY}")
