#include "entropix/runlog/tfevents.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace entropix::runlog {

namespace {

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// Protobuf wire format: varints, tags (field << 3 | wire type), little-endian fixed widths.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_tag(std::string& out, int field, int wire_type) { put_varint(out, static_cast<uint64_t>(field) << 3 | wire_type); }
template <typename T>
void put_fixed(std::string& out, T value) {  // little endian, as protobuf and TFRecord want
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  for (size_t i = 0; i < sizeof(T); ++i) out += static_cast<char>(bytes[i]);  // x86/ARM hosts are little endian
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_wall_time(std::string& out, double wall_time) {
  put_tag(out, 1, 1);  // wall_time, fixed64 double
  put_fixed(out, wall_time);
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = crc_table()[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(const void* data, size_t n) {
  const uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

std::string event_file_version(double wall_time) {
  std::string e;
  put_wall_time(e, wall_time);
  put_bytes(e, 3, "brain.Event:2");
  return e;
}

std::string event_scalars(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    put_tag(v, 2, 5);  // simple_value, fixed32 float
    put_fixed(v, value);
    put_bytes(summary, 1, v);
  }
  std::string e;
  put_wall_time(e, wall_time);
  put_tag(e, 2, 0);  // step, varint (two's complement for a negative step, never written)
  put_varint(e, static_cast<uint64_t>(step));
  put_bytes(e, 5, summary);
  return e;
}

EventFileWriter::EventFileWriter(const std::filesystem::path& path, double wall_time) : path_(path.string()) {
  out_ = std::fopen(path_.c_str(), "wbx");  // x: never over an existing file
  if (!out_) throw std::runtime_error("cannot create " + path_ + ": " + std::strerror(errno));
  write_record(event_file_version(wall_time));
}

EventFileWriter::~EventFileWriter() {
  if (out_) std::fclose(out_);
}

void EventFileWriter::write_record(const std::string& data) {
  std::string frame;
  put_fixed(frame, static_cast<uint64_t>(data.size()));
  const uint32_t length_crc = masked_crc32c(frame.data(), 8);
  put_fixed(frame, length_crc);
  frame += data;
  put_fixed(frame, masked_crc32c(data.data(), data.size()));
  if (std::fwrite(frame.data(), 1, frame.size(), out_) != frame.size())
    throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(errno));
}

void EventFileWriter::close() {
  if (!out_) return;
  const bool ok = std::fflush(out_) == 0;
  const int err = errno;
  std::fclose(out_);
  out_ = nullptr;
  if (!ok) throw std::runtime_error("cannot write " + path_ + ": " + std::strerror(err));
}

}  // namespace entropix::runlog
