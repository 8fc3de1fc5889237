// The safetensors layout, read back by hand (the Python safetensors library reads real exports in
// tests/cli/test_export.cpp).
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "entropix/export/safetensors_writer.h"

namespace entropix {
namespace {

TEST(SafetensorsWriter, HeaderOffsetsAlignmentAndData) {
  const torch::Tensor a = torch::arange(6, torch::kFloat32).view({2, 3});  // 24 bytes
  const torch::Tensor b = torch::tensor({true, false, true});              // 3 bytes
  const torch::Tensor c = torch::tensor({-1.5f}).t();                      // 4 bytes
  const std::string f = safetensors_bytes({{"a", a.t()}, {"b", b}, {"c", c}}, {{"k", "v"}});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(f[i]);  // uint64 little-endian
  ASSERT_LE(8 + n, f.size());
  EXPECT_EQ((8 + n) % 8, 0u) << "the data section starts 8-byte aligned";
  const auto h = nlohmann::json::parse(f.substr(8, n));  // trailing spaces are JSON whitespace
  EXPECT_EQ(h["__metadata__"]["k"], "v");
  EXPECT_EQ(h["a"]["dtype"], "F32");
  EXPECT_EQ(h["a"]["shape"], nlohmann::json({3, 2}));  // a transposed view is written as its values
  EXPECT_EQ(h["a"]["data_offsets"], nlohmann::json({0, 24}));
  EXPECT_EQ(h["b"]["dtype"], "BOOL");
  EXPECT_EQ(h["b"]["data_offsets"], nlohmann::json({24, 27}));
  EXPECT_EQ(h["c"]["data_offsets"], nlohmann::json({27, 31}));
  EXPECT_EQ(f.size(), 8 + n + 31);
  const char* data = f.data() + 8 + n;
  const float expect_a[6] = {0, 3, 1, 4, 2, 5};  // row-major values of a^T
  EXPECT_EQ(std::memcmp(data, expect_a, 24), 0);
  EXPECT_EQ(std::string(data + 24, 3), std::string("\x01\x00\x01", 3));
  float cv;
  std::memcpy(&cv, data + 27, 4);
  EXPECT_EQ(cv, -1.5f);
}

TEST(SafetensorsWriter, RejectsDuplicateAndReservedNames) {
  const torch::Tensor t = torch::zeros({1});
  EXPECT_THROW(safetensors_bytes({{"x", t}, {"x", t}}), std::invalid_argument);
  EXPECT_THROW(safetensors_bytes({{"__metadata__", t}}), std::invalid_argument);
  EXPECT_THROW(safetensors_bytes({{"z", torch::zeros({1}, torch::kComplexFloat)}}), std::invalid_argument);
}

}  // namespace
}  // namespace entropix
