#include "runtime/event_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "proto/event.pb.h"
#include "runtime/crc32c.h"
#include "runtime/errno_status.h"
#include "runtime/npy.h"

namespace sluice {
namespace {

// TensorBoard recognises a file by this version string in its first event.
constexpr char kFileVersion[] = "brain.Event:2";
// Records are written once this much is buffered.
constexpr size_t kFlushThreshold = 64 * 1024;
// Length (8), length CRC (4), data CRC (4).
constexpr size_t kFramingBytes = 16;

absl::Status ErrnoError(int err, absl::string_view what) {
  return ErrnoStatus(err, what, absl::StatusCode::kInternal);
}

void AppendLittleEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t LoadLittleEndian(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return value;
}

double WallTimeSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

absl::Status WriteAll(int fd, absl::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, absl::StrCat("writing event file '", path, "'"));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

std::string FrameTfRecord(absl::string_view data) {
  std::string out;
  out.reserve(data.size() + kFramingBytes);
  AppendLittleEndian(&out, data.size(), 8);
  AppendLittleEndian(&out, MaskCrc32c(Crc32c(out)), 4);
  out.append(data.data(), data.size());
  AppendLittleEndian(&out, MaskCrc32c(Crc32c(data)), 4);
  return out;
}

EventWriter::EventWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

EventWriter::~EventWriter() {
  // Nobody is left to report an error to; Close() reports them.
  Close().IgnoreError();
}

absl::StatusOr<std::unique_ptr<EventWriter>> EventWriter::Create(const std::string& logdir) {
  if (logdir.empty()) return absl::InvalidArgumentError("event log directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(logdir, ec);
  if (ec) return ErrnoError(ec.value(), absl::StrCat("cannot create log directory '", logdir, "'"));
  if (!std::filesystem::is_directory(logdir, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("log directory '", logdir, "' exists but is not a directory"));
  }
  const int64_t seconds = static_cast<int64_t>(WallTimeSeconds());
  const std::string base = (std::filesystem::path(logdir) /
                            absl::StrCat("events.out.tfevents.", seconds, ".", HostName()))
                               .string();
  std::string path = base;
  int fd = -1;
  for (int suffix = 1;; ++suffix) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) break;
    if (errno != EEXIST || suffix > 1000) {
      return ErrnoError(errno, absl::StrCat("cannot create event file '", path, "'"));
    }
    path = absl::StrCat(base, ".", suffix);
  }
  std::unique_ptr<EventWriter> writer(new EventWriter(std::move(path), fd));
  proto::Event version;
  version.set_wall_time(WallTimeSeconds());
  version.set_file_version(kFileVersion);
  std::lock_guard<std::mutex> lock(writer->mu_);
  RETURN_IF_ERROR(writer->AppendRecord(version.SerializeAsString()));
  // Written at once, so even a run that dies early leaves a valid file.
  RETURN_IF_ERROR(writer->FlushLocked());
  return writer;
}

absl::Status EventWriter::AddScalar(absl::string_view tag, int64_t step, double value) {
  if (tag.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event file '", path_, "': a scalar needs a non-empty tag"));
  }
  proto::Event event;
  event.set_wall_time(WallTimeSeconds());
  event.set_step(step);
  proto::Summary::Value* v = event.mutable_summary()->add_value();
  v->set_tag(std::string(tag));
  v->set_simple_value(static_cast<float>(value));
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(AppendRecord(event.SerializeAsString()));
  if (buffer_.size() >= kFlushThreshold) return FlushLocked();
  return absl::OkStatus();
}

absl::Status EventWriter::AppendRecord(absl::string_view record) {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat("event file '", path_, "' is closed"));
  }
  buffer_ += FrameTfRecord(record);
  return absl::OkStatus();
}

absl::Status EventWriter::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  return FlushLocked();
}

absl::Status EventWriter::FlushLocked() {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat("event file '", path_, "' is closed"));
  }
  const absl::Status written = WriteAll(fd_, buffer_, path_);
  // On failure the records are dropped rather than retried forever; the
  // error says so once.
  buffer_.clear();
  return written;
}

absl::Status EventWriter::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) {
    return absl::FailedPreconditionError(absl::StrCat("event file '", path_, "' is closed"));
  }
  absl::Status status = FlushLocked();
  if (::close(fd_) != 0 && status.ok()) {
    status = ErrnoError(errno, absl::StrCat("closing event file '", path_, "'"));
  }
  fd_ = -1;
  return status;
}

absl::StatusOr<std::vector<std::string>> ReadTfRecords(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path));
  std::vector<std::string> records;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t index = records.size();
    auto bad = [&](absl::string_view why) {
      return absl::DataLossError(
          absl::StrCat("TFRecord file '", path, "': record ", index, " at byte ", pos, " ", why));
    };
    const size_t left = bytes.size() - pos;
    if (left < 12) {
      return bad(absl::StrCat("is truncated: ", left, " bytes, less than its 12-byte header"));
    }
    const char* p = bytes.data() + pos;
    const uint64_t length = LoadLittleEndian(p, 8);
    const uint32_t length_crc = static_cast<uint32_t>(LoadLittleEndian(p + 8, 4));
    if (UnmaskCrc32c(length_crc) != Crc32c(absl::string_view(p, 8))) {
      return bad("is corrupt: the CRC32C of its length does not match");
    }
    const size_t room = left < kFramingBytes ? 0 : left - kFramingBytes;
    if (length > room) {
      return bad(absl::StrCat("is truncated: it declares ", length, " bytes of data but only ",
                              room, " remain"));
    }
    const absl::string_view data(p + 12, length);
    const uint32_t data_crc = static_cast<uint32_t>(LoadLittleEndian(p + 12 + length, 4));
    if (UnmaskCrc32c(data_crc) != Crc32c(data)) {
      return bad("is corrupt: the CRC32C of its data does not match");
    }
    records.emplace_back(data);
    pos += kFramingBytes + length;
  }
  return records;
}

}  // namespace sluice
