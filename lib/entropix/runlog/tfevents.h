// TensorBoard event files written by hand (no protobuf dependency): the TFRecord framing and the
// few fields of the Event and Summary protos that scalars need (docs/logs.md, "Exporting").
//
//   record  = uint64 length (little endian) | uint32 masked_crc32c(length bytes)
//             | data | uint32 masked_crc32c(data)
//   Event   = 1: wall_time (double) | 2: step (int64) | 3: file_version (string) | 5: summary
//   Summary = 1: repeated Value;  Value = 1: tag (string) | 2: simple_value (float)
#pragma once
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace entropix::runlog {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) of `n` bytes.
uint32_t crc32c(const void* data, size_t n);
// TFRecord's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t masked_crc32c(const void* data, size_t n);

// The serialised Event protos.
std::string event_file_version(double wall_time);  // "brain.Event:2", the first record of a file
std::string event_scalars(double wall_time, int64_t step, const std::vector<std::pair<std::string, float>>& scalars);

// Appends framed records to one event file.
class EventFileWriter {
 public:
  // Creates `path` (which must not exist) and writes the file_version record.
  EventFileWriter(const std::filesystem::path& path, double wall_time);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;
  void write_record(const std::string& data);
  void close();  // flushes; throws on a write error

 private:
  std::FILE* out_ = nullptr;
  std::string path_;
};

}  // namespace entropix::runlog
