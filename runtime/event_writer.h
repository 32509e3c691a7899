// TensorBoard event files: TFRecord-framed Event messages (proto/event.proto)
// that TensorBoard's scalar dashboard reads.
#ifndef SLUICE_RUNTIME_EVENT_WRITER_H_
#define SLUICE_RUNTIME_EVENT_WRITER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice {

// Writes one event file, `events.out.tfevents.<unix seconds>.<hostname>` in a
// log directory. Records are buffered; Flush, Close and the destructor write
// them out. Safe to use from several threads.
class EventWriter {
 public:
  // Creates `logdir` (with its parents) when missing and a new event file in
  // it whose first record is the Event with file_version "brain.Event:2". When
  // a file of that name exists already (two writers started within a second),
  // a numeric suffix keeps them apart. Errors name the directory or the file.
  static absl::StatusOr<std::unique_ptr<EventWriter>> Create(const std::string& logdir);
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // Appends an Event at the current wall time holding the scalar `value`
  // (stored as float, as TensorBoard's simple_value is) under `tag` at
  // training step `step`. `tag` must be non-empty.
  absl::Status AddScalar(absl::string_view tag, int64_t step, double value);
  // Writes buffered records to the file (not fsync'd).
  absl::Status Flush();
  // Flushes and closes the file; later calls are errors.
  absl::Status Close();

  // The event file's full path.
  const std::string& path() const { return path_; }

 private:
  EventWriter(std::string path, int fd);
  // Frames `record` as TFRecord and adds it to the buffer. Caller holds mu_.
  absl::Status AppendRecord(absl::string_view record);
  // Writes the buffer out. Caller holds mu_.
  absl::Status FlushLocked();

  const std::string path_;
  // A standard mutex, which ThreadSanitizer sees (docs/build.md).
  std::mutex mu_;  // guards fd_ and buffer_
  int fd_;         // -1 once closed
  std::string buffer_;
};

// The TFRecord framing of one record: its length (uint64, little-endian), the
// masked CRC32C of those 8 bytes (uint32 LE), `data`, and the masked CRC32C
// of `data` (uint32 LE).
std::string FrameTfRecord(absl::string_view data);

// The records of the TFRecord file at `path`, with both CRCs of each checked.
// A corrupt or truncated record is a DataLoss error naming the file, the
// record's index (from 0) and its byte offset.
absl::StatusOr<std::vector<std::string>> ReadTfRecords(const std::string& path);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_EVENT_WRITER_H_
