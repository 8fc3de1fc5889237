// Precompiled header: the heavy third-party headers every translation unit uses.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>
#include <string>
#include <vector>
#include <map>
#include <memory>
#include <functional>
#include <filesystem>
