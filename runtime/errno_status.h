// One mapping from a failed system call's errno to a Status, for the
// runtime's file formats.
#ifndef SLUICE_RUNTIME_ERRNO_STATUS_H_
#define SLUICE_RUNTIME_ERRNO_STATUS_H_

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sluice {

// "`what`: <strerror>", as NotFound for a missing file or directory,
// PermissionDenied for access errors, and `otherwise` for anything else.
inline absl::Status ErrnoStatus(int err, absl::string_view what, absl::StatusCode otherwise) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    default:
      return absl::Status(otherwise, message);
  }
}

}  // namespace sluice

#endif  // SLUICE_RUNTIME_ERRNO_STATUS_H_
