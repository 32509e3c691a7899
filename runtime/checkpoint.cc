#include "runtime/checkpoint.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "google/protobuf/stubs/logging.h"
#include "graph/status_macros.h"
#include "proto/checkpoint.pb.h"
#include "runtime/crc32c.h"
#include "runtime/errno_status.h"

namespace sluice {
namespace {

// Tensor data is written and read as raw host bytes, which the format
// declares little-endian.
static_assert(std::endian::native == std::endian::little,
              "checkpoints store raw little-endian data; a big-endian host would need swaps");

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'K', 'P', 'T'};
// Magic, header length (uint64), header CRC32C (uint32).
constexpr uint64_t kPrefixSize = 8 + 8 + 4;
constexpr uint64_t kDataAlignment = 64;

uint64_t AlignUp(uint64_t n) { return (n + kDataAlignment - 1) / kDataAlignment * kDataAlignment; }

void AppendLittleEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t LoadLittleEndian(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return value;
}

absl::Status ErrnoError(int err, absl::string_view what) {
  return ErrnoStatus(err, what, absl::StatusCode::kDataLoss);
}

std::string Describe(DType dtype, const Shape& shape) {
  return absl::StrCat(DTypeName(dtype), shape.ToString());
}

// A file open for positioned reads; closed on destruction.
class InputFile {
 public:
  static absl::StatusOr<InputFile> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(errno, absl::StrCat("cannot open checkpoint '", path, "'"));
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint '", path, "' is not a regular file"));
    }
    return InputFile(fd, static_cast<uint64_t>(st.st_size));
  }
  InputFile(InputFile&& other) noexcept : fd_(other.fd_), size_(other.size_) { other.fd_ = -1; }
  InputFile& operator=(InputFile&&) = delete;
  ~InputFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  uint64_t size() const { return size_; }
  // Reads exactly `n` bytes at `offset`; the caller has checked the range.
  absl::Status ReadAt(uint64_t offset, uint64_t n, void* dst, absl::string_view path) const {
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return ErrnoError(errno, absl::StrCat("cannot read checkpoint '", path, "'"));
      if (got == 0) {
        return absl::DataLossError(
            absl::StrCat("checkpoint '", path, "' shrank while it was read"));
      }
      out += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<uint64_t>(got);
    }
    return absl::OkStatus();
  }

 private:
  InputFile(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
};

// The test-only hook of SetCheckpointSaveHookForTesting; null in production.
std::atomic<CheckpointSaveHook> save_hook{nullptr};

void ReachSavePoint(CheckpointSavePoint point) {
  if (CheckpointSaveHook hook = save_hook.load(std::memory_order_acquire)) hook(point);
}

// Temporary files of checkpoint `path` are named `<path>.tmp.<pid>.<n>`.
constexpr absl::string_view kTempInfix = ".tmp.";

// The directory of `path` ("." for a bare file name) and the name in it.
std::pair<std::string, std::string> SplitPath(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {".", path};
  return {path.substr(0, slash == 0 ? 1 : slash), path.substr(slash + 1)};
}

bool AllDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether `name` is `<base>.tmp.<pid>.<n>` (both decimal), a temporary file
// of the checkpoint named `base`, made by a process other than this one.
bool IsOthersTemporaryName(absl::string_view name, absl::string_view base) {
  if (!absl::ConsumePrefix(&name, base) || !absl::ConsumePrefix(&name, kTempInfix)) return false;
  const size_t dot = name.find('.');
  if (dot == absl::string_view::npos || !AllDigits(name.substr(0, dot)) ||
      !AllDigits(name.substr(dot + 1))) {
    return false;
  }
  return name.substr(0, dot) != absl::StrCat(::getpid());
}

// Whether `name` (relative to `dir_fd`, or absolute) still names the file
// open as `fd`.
bool NamesSameFile(int dir_fd, const char* name, int fd) {
  struct stat by_fd, by_name;
  return ::fstat(fd, &by_fd) == 0 && ::fstatat(dir_fd, name, &by_name, AT_SYMLINK_NOFOLLOW) == 0 &&
         by_fd.st_dev == by_name.st_dev && by_fd.st_ino == by_name.st_ino;
}

// Removes the temporary files of checkpoint `base` in `dir` that no running
// save holds. A save keeps an exclusive flock on its temporary file from just
// after creating it until it is renamed, and the kernel drops the lock when
// the process dies however it dies, so a temporary file whose lock can be
// taken belongs to a save that ended without renaming it. Unlike a rule based
// on the pid in the name, this cannot mistake a live saver in another pid
// namespace (a container sharing the directory) or a reused pid. Files named
// with this process's pid are skipped: they may be another thread's save, and
// where flock is emulated with POSIX locks (NFS) the locks of one process do
// not exclude each other. Only regular files matching the exact name pattern
// are touched (never symlinks, other checkpoints' files or anything else), and
// a file that cannot be opened, locked or removed is left alone: this is best
// effort, and the save goes on.
void RemoveStaleTemporaries(const std::string& dir, const std::string& base) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;  // Creating the temporary file reports the problem.
  std::vector<std::string> candidates;
  while (const dirent* entry = ::readdir(d)) {
    if (IsOthersTemporaryName(entry->d_name, base)) candidates.emplace_back(entry->d_name);
  }
  const int dir_fd = ::dirfd(d);
  for (const std::string& name : candidates) {
    // O_NONBLOCK: a FIFO of that name must not block the open. O_RDWR: NFS
    // emulates flock with write locks, which need it.
    const int fd = ::openat(dir_fd, name.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) continue;
    struct stat st;
    // Still the same file once locked: the name was not removed and made
    // again meanwhile by another save.
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        NamesSameFile(dir_fd, name.c_str(), fd)) {
      ::unlinkat(dir_fd, name.c_str(), 0);
    }
    ::close(fd);
  }
  ::closedir(d);
}

// Streams bytes into a temporary file next to `path` and renames it over
// `path` on Commit; without Commit the temporary file is removed.
class AtomicOutputFile {
 public:
  static absl::StatusOr<AtomicOutputFile> Create(const std::string& path) {
    static std::atomic<uint64_t> counter{0};
    // A name can be taken by a file of another host on a shared file system,
    // or, after a pid was reused, by one a crashed process left; and another
    // save's RemoveStaleTemporaries may remove our name between the open and
    // the flock. Each of these moves on to a fresh name.
    constexpr int kAttempts = 100;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      std::string tmp = absl::StrCat(path, kTempInfix, ::getpid(), ".", counter.fetch_add(1));
      const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 && errno == EEXIST) continue;
      if (fd < 0) {
        return ErrnoError(errno, absl::StrCat("cannot write checkpoint '", path,
                                              "': creating temporary file '", tmp, "'"));
      }
      // The lock marks the file as in use until Commit renames it.
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        if (NamesSameFile(AT_FDCWD, tmp.c_str(), fd)) return AtomicOutputFile(path, tmp, fd);
      } else if (errno != EWOULDBLOCK) {
        // The file system has no flock; RemoveStaleTemporaries cannot lock
        // the file either, so it keeps it: the safe side.
        return AtomicOutputFile(path, tmp, fd);
      }
      // Another save's RemoveStaleTemporaries holds or has removed the name.
      ::close(fd);  // Not unlinked: the name may be another save's by now.
    }
    return absl::AbortedError(
        absl::StrCat("cannot write checkpoint '", path, "': ", kAttempts,
                     " temporary file names next to it were taken or removed by other processes"));
  }
  AtomicOutputFile(AtomicOutputFile&& other) noexcept
      : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(other.fd_) {
    other.fd_ = -1;
    other.tmp_.clear();
  }
  AtomicOutputFile& operator=(AtomicOutputFile&&) = delete;
  ~AtomicOutputFile() {
    // Unlinked before the lock goes with the close, so a concurrent cleaner
    // never sees it unlocked under its name.
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(const void* data, size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t wrote = ::write(fd_, p, n);
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote < 0) return WriteError(errno, "writing");
      p += wrote;
      n -= static_cast<size_t>(wrote);
    }
    return absl::OkStatus();
  }
  absl::Status Append(absl::string_view bytes) { return Append(bytes.data(), bytes.size()); }
  absl::Status AppendZeros(uint64_t n) {
    static const char kZeros[256] = {};
    while (n > 0) {
      const size_t chunk = std::min<uint64_t>(n, sizeof kZeros);
      RETURN_IF_ERROR(Append(kZeros, chunk));
      n -= chunk;
    }
    return absl::OkStatus();
  }

  // Makes the data durable, gives it the final name, and makes the name
  // durable: fsync the file, rename it over `path`, fsync the directory.
  absl::Status Commit() {
    if (::fsync(fd_) != 0) return WriteError(errno, "syncing");
    ReachSavePoint(CheckpointSavePoint::kDataSynced);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) {
      return ErrnoError(errno, absl::StrCat("cannot write checkpoint '", path_, "': renaming '",
                                            tmp_, "' to it"));
    }
    tmp_.clear();
    // The lock is held until here, past the rename: see RemoveStaleTemporaries.
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
      return ErrnoError(
          errno, absl::StrCat("checkpoint '", path_, "' is in place, but closing it failed"));
    }
    ReachSavePoint(CheckpointSavePoint::kRenamed);
    // Until the directory is synced, a power loss can undo the rename.
    const std::string dir = SplitPath(path_).first;
    const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return DirectoryError(errno, "opening", dir);
    const int synced = ::fsync(dir_fd);
    const int sync_errno = errno;
    ::close(dir_fd);
    // EINVAL: the file system cannot sync directories (some FUSE and network
    // file systems); there is nothing more to do.
    if (synced != 0 && sync_errno != EINVAL) return DirectoryError(sync_errno, "syncing", dir);
    return absl::OkStatus();
  }

 private:
  AtomicOutputFile(std::string path, std::string tmp, int fd)
      : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}

  absl::Status WriteError(int err, absl::string_view doing) const {
    return ErrnoError(err, absl::StrCat("cannot write checkpoint '", path_, "': ", doing,
                                        " temporary file '", tmp_, "'"));
  }
  absl::Status DirectoryError(int err, absl::string_view doing, const std::string& dir) const {
    return ErrnoError(err, absl::StrCat("checkpoint '", path_,
                                        "' is in place but may not survive a power loss: ", doing,
                                        " its directory '", dir, "'"));
  }

  std::string path_;
  std::string tmp_;  // empty once renamed
  int fd_;           // holds an exclusive flock until closed after the rename
};

// A header that passed every check, with the entries decoded.
struct ParsedHeader {
  proto::CheckpointHeader proto;
  std::vector<CheckpointEntry> entries;  // parallel to proto.tensor()
};

absl::Status Corrupt(const std::string& path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("checkpoint '", path, "' is corrupt: ", why));
}

absl::Status Truncated(const std::string& path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("checkpoint '", path, "' is truncated: ", why));
}

// Reads and checks the prefix and header, and every tensor's dtype, shape,
// offset and length against the file size.
absl::StatusOr<ParsedHeader> ReadHeader(const InputFile& file, const std::string& path) {
  const uint64_t size = file.size();
  char prefix[kPrefixSize];
  const uint64_t have = std::min<uint64_t>(size, kPrefixSize);
  RETURN_IF_ERROR(file.ReadAt(0, have, prefix, path));
  if (std::memcmp(prefix, kMagic, std::min<uint64_t>(have, sizeof kMagic)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", path, "' is not a Sluice checkpoint: it does not start with \"SLUICKPT\""));
  }
  if (size < kPrefixSize) {
    return Truncated(path, absl::StrCat(size, " bytes, less than the ", kPrefixSize,
                                        "-byte prefix (magic, header length, header CRC)"));
  }
  const uint64_t header_size = LoadLittleEndian(prefix + 8, 8);
  const uint32_t header_crc = static_cast<uint32_t>(LoadLittleEndian(prefix + 16, 4));
  if (header_size > size - kPrefixSize) {
    return Truncated(path, absl::StrCat("the header is ", header_size, " bytes but only ",
                                        size - kPrefixSize, " follow the prefix"));
  }
  std::string header_bytes(header_size, '\0');
  RETURN_IF_ERROR(file.ReadAt(kPrefixSize, header_size, header_bytes.data(), path));
  const uint32_t actual_crc = Crc32c(header_bytes);
  if (actual_crc != header_crc) {
    return Corrupt(path, absl::StrFormat("the header's CRC32C is 0x%08x, the file records 0x%08x",
                                         actual_crc, header_crc));
  }
  ParsedHeader parsed;
  {
    // Protobuf logs some problems (a tensor name that is not UTF-8) to
    // stderr; the status reports them instead.
    google::protobuf::LogSilencer silence_protobuf;
    if (!parsed.proto.ParseFromString(header_bytes)) {
      return Corrupt(path, "the header message does not parse");
    }
  }
  const uint32_t version = parsed.proto.format_version();
  if (version == 0) return Corrupt(path, "the header has no format version");
  if (version > kCheckpointFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint '", path, "' has format version ", version, "; this build reads up to ",
        kCheckpointFormatVersion, ", so it was written by a newer Sluice"));
  }
  const uint64_t data_start = kPrefixSize + header_size;
  absl::flat_hash_map<std::string, int> seen;
  for (int i = 0; i < parsed.proto.tensor_size(); ++i) {
    const proto::CheckpointTensor& t = parsed.proto.tensor(i);
    const std::string where = absl::StrCat("tensor ", i, " ('", t.name(), "')");
    if (t.name().empty()) return Corrupt(path, absl::StrCat("tensor ", i, " has no name"));
    if (!seen.emplace(t.name(), i).second) {
      return Corrupt(path, absl::StrCat("tensors ", seen[t.name()], " and ", i, " are both named '",
                                        t.name(), "'"));
    }
    if (t.dtype() == proto::DT_INVALID || !IsValidDType(t.dtype())) {
      return Corrupt(path, absl::StrCat(where, " has invalid dtype ", static_cast<int>(t.dtype())));
    }
    CheckpointEntry entry{t.name(), static_cast<DType>(t.dtype()), Shape()};
    for (int64_t d : t.dim()) {
      if (d < 0) return Corrupt(path, absl::StrCat(where, " has negative dimension ", d));
      entry.shape.AddDim(d);
    }
    auto elements = entry.shape.CheckedNumElements();
    const uint64_t element_size = DTypeSize(entry.dtype);
    if (!elements.ok() ||
        static_cast<uint64_t>(*elements) > std::numeric_limits<uint64_t>::max() / element_size) {
      return Corrupt(
          path, absl::StrCat(where, " has shape ", entry.shape.ToString(), ", too large to hold"));
    }
    const uint64_t want = static_cast<uint64_t>(*elements) * element_size;
    if (t.length() != want) {
      return Corrupt(path,
                     absl::StrCat(where, " is ", Describe(entry.dtype, entry.shape), " (", want,
                                  " bytes) but records ", t.length(), " bytes of data"));
    }
    if (t.offset() % kDataAlignment != 0 || t.offset() < data_start) {
      return Corrupt(path, absl::StrCat(where, " has data offset ", t.offset(),
                                        ", which is not a multiple of 64 at or after the "
                                        "header's end (byte ",
                                        data_start, ")"));
    }
    if (t.offset() > size || t.length() > size - t.offset()) {
      return Truncated(path, absl::StrCat(where, " needs bytes ", t.offset(), " to ",
                                          t.offset() + t.length(), " but the file has ", size));
    }
    parsed.entries.push_back(std::move(entry));
  }
  return parsed;
}

// A variable checked against the file, with its value read and verified.
struct PendingRestore {
  std::string name;
  DType dtype;
  Shape declared_shape;
  Tensor value;
};

}  // namespace

absl::Status CheckCheckpointDestination(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("checkpoint path is empty");
  const auto [dir, base] = SplitPath(path);
  if (base.empty() || base == "." || base == ".." || std::filesystem::is_directory(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint path '", path, "' names a directory, not a file"));
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    return ErrnoStatus(errno,
                       absl::StrCat("cannot write checkpoint '", path, "': directory '", dir, "'"),
                       absl::StatusCode::kFailedPrecondition);
  }
  return absl::OkStatus();
}

absl::Status SaveCheckpoint(const VariableStore& store, const std::string& path,
                            const Graph* graph) {
  if (path.empty()) return absl::InvalidArgumentError("checkpoint path is empty");
  const char* kRunInit =
      "; run its initializer (or the op that initialises all variables) or restore a "
      "checkpoint before saving";
  if (graph != nullptr) {
    for (const Node* node : graph->nodes()) {
      if (node->op() != "Variable") continue;
      const VariableSlot* slot = store.Find(node->name());
      if (slot == nullptr || !slot->initialized()) {
        return absl::FailedPreconditionError(absl::StrCat("cannot save checkpoint '", path,
                                                          "': variable '", node->name(),
                                                          "' has no value", kRunInit));
      }
    }
  }
  std::vector<Tensor> values;
  proto::CheckpointHeader header;
  header.set_format_version(kCheckpointFormatVersion);
  for (const VariableSlot* slot : store.List()) {
    if (!slot->initialized()) {
      return absl::FailedPreconditionError(absl::StrCat("cannot save checkpoint '", path,
                                                        "': variable '", slot->name(),
                                                        "' has no value", kRunInit));
    }
    Tensor value = slot->value();
    proto::CheckpointTensor* t = header.add_tensor();
    t->set_name(slot->name());
    t->set_dtype(static_cast<proto::DataType>(value.dtype()));
    for (int64_t d : value.shape().dims()) t->add_dim(d);
    t->set_length(value.num_bytes());
    t->set_crc32c(
        Crc32c(absl::string_view(static_cast<const char*>(value.raw_data()), value.num_bytes())));
    values.push_back(std::move(value));
  }
  // Offsets are varints, so the header's size depends on where the data
  // starts, which depends on the header's size. Growing the start only ever
  // grows the header, so this settles within a few rounds; a start beyond
  // what the header needs just leaves more padding.
  uint64_t data_start = kDataAlignment;
  std::string header_bytes;
  for (;;) {
    uint64_t offset = data_start;
    for (int i = 0; i < header.tensor_size(); ++i) {
      header.mutable_tensor(i)->set_offset(offset);
      offset = AlignUp(offset + header.tensor(i).length());
    }
    header_bytes.clear();
    if (!header.SerializeToString(&header_bytes)) {
      return absl::InternalError(
          absl::StrCat("cannot write checkpoint '", path, "': the header does not serialize"));
    }
    const uint64_t needed = AlignUp(kPrefixSize + header_bytes.size());
    if (needed <= data_start) break;
    data_start = needed;
  }

  const auto [dir, base] = SplitPath(path);
  if (base.empty() || base == "." || base == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint path '", path, "' names a directory, not a file"));
  }
  RemoveStaleTemporaries(dir, base);
  ASSIGN_OR_RETURN(AtomicOutputFile file, AtomicOutputFile::Create(path));
  std::string prefix(kMagic, sizeof kMagic);
  AppendLittleEndian(&prefix, header_bytes.size(), 8);
  AppendLittleEndian(&prefix, Crc32c(header_bytes), 4);
  RETURN_IF_ERROR(file.Append(prefix));
  RETURN_IF_ERROR(file.Append(header_bytes));
  uint64_t position = kPrefixSize + header_bytes.size();
  const uint64_t file_size = header.tensor_size() == 0
                                 ? position
                                 : header.tensor(header.tensor_size() - 1).offset() +
                                       header.tensor(header.tensor_size() - 1).length();
  // The test hook's kDataPartlyWritten point is the first byte at or past the
  // middle of the file.
  bool reached_middle = false;
  for (int i = 0; i < header.tensor_size(); ++i) {
    const proto::CheckpointTensor& t = header.tensor(i);
    RETURN_IF_ERROR(file.AppendZeros(t.offset() - position));
    const char* data = static_cast<const char*>(values[i].raw_data());
    uint64_t first = 0;  // bytes written before the hook
    if (!reached_middle && t.offset() + t.length() >= file_size / 2) {
      first = std::max<uint64_t>(file_size / 2, t.offset()) - t.offset();
      RETURN_IF_ERROR(file.Append(data, first));
      ReachSavePoint(CheckpointSavePoint::kDataPartlyWritten);
      reached_middle = true;
    }
    RETURN_IF_ERROR(file.Append(data + first, t.length() - first));
    position = t.offset() + t.length();
  }
  if (!reached_middle) ReachSavePoint(CheckpointSavePoint::kDataPartlyWritten);
  return file.Commit();
}

absl::Status RestoreCheckpoint(const std::string& path, const Graph& graph, VariableStore& store) {
  ASSIGN_OR_RETURN(InputFile file, InputFile::Open(path));
  ASSIGN_OR_RETURN(ParsedHeader header, ReadHeader(file, path));
  absl::flat_hash_map<absl::string_view, int> index;
  for (int i = 0; i < static_cast<int>(header.entries.size()); ++i) {
    index.emplace(header.entries[i].name, i);
  }

  // Everything is read and verified before the first slot changes.
  std::vector<PendingRestore> pending;
  for (const Node* node : graph.nodes()) {
    if (node->op() != "Variable") continue;
    const std::string& name = node->name();
    const DType dtype = node->attr("dtype").dtype();
    const Shape& declared = node->attr("shape").shape();
    auto it = index.find(name);
    if (it == index.end()) {
      return absl::NotFoundError(absl::StrCat("checkpoint '", path, "' has no variable '", name,
                                              "' (", Describe(dtype, declared), " in the graph)"));
    }
    const CheckpointEntry& entry = header.entries[it->second];
    if (entry.dtype != dtype || !entry.shape.IsCompatibleWith(declared)) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable '", name, "' is ", Describe(dtype, declared), " in the graph but ",
                       Describe(entry.dtype, entry.shape), " in checkpoint '", path, "'"));
    }
    if (const VariableSlot* slot = store.Find(name);
        slot != nullptr && (slot->dtype() != dtype || slot->declared_shape() != declared)) {
      return absl::InvalidArgumentError(
          absl::StrCat("variable '", name, "' is ", Describe(slot->dtype(), slot->declared_shape()),
                       " in this session but the graph declares ", Describe(dtype, declared)));
    }
    const proto::CheckpointTensor& t = header.proto.tensor(it->second);
    ASSIGN_OR_RETURN(Tensor value, Tensor::Allocate(entry.dtype, entry.shape));
    RETURN_IF_ERROR(file.ReadAt(t.offset(), t.length(), value.raw_data(), path));
    const uint32_t crc =
        Crc32c(absl::string_view(static_cast<const char*>(value.raw_data()), t.length()));
    if (crc != t.crc32c()) {
      return absl::DataLossError(absl::StrFormat(
          "checkpoint '%s': the data of variable '%s' is corrupt (CRC32C 0x%08x, the header "
          "records 0x%08x)",
          path, name, crc, t.crc32c()));
    }
    if (dtype == DType::kBool) {
      // Any byte but 0 and 1 would be an invalid C++ bool.
      const auto* p = static_cast<const unsigned char*>(value.raw_data());
      for (int64_t i = 0; i < value.num_elements(); ++i) {
        if (p[i] > 1) {
          return Corrupt(path, absl::StrCat("bool variable '", name, "' holds byte ", int{p[i]},
                                            " at element ", i));
        }
      }
    }
    pending.push_back({name, dtype, declared, std::move(value)});
  }
  for (PendingRestore& p : pending) {
    ASSIGN_OR_RETURN(VariableSlot * slot, store.GetOrCreate(p.name, p.dtype, p.declared_shape));
    slot->Set(std::move(p.value));
  }
  return absl::OkStatus();
}

void SetCheckpointSaveHookForTesting(CheckpointSaveHook hook) {
  save_hook.store(hook, std::memory_order_release);
}

absl::StatusOr<std::vector<CheckpointEntry>> ListCheckpoint(const std::string& path) {
  ASSIGN_OR_RETURN(InputFile file, InputFile::Open(path));
  ASSIGN_OR_RETURN(ParsedHeader header, ReadHeader(file, path));
  return std::move(header.entries);
}

}  // namespace sluice
