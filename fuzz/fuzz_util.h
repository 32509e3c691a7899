// Helpers shared by the fuzz targets.
#ifndef SLUICE_FUZZ_FUZZ_UTIL_H_
#define SLUICE_FUZZ_FUZZ_UTIL_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

namespace sluice::fuzz {

// Stops the run when a property that must hold for every input fails; the
// fuzzer reports it as a crash and saves the input.
[[noreturn]] inline void PropertyFailed(absl::string_view what, absl::string_view detail) {
  std::fprintf(stderr, "property failed: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// A file path private to this process (under $TMPDIR, else /tmp) for targets
// whose API reads files; it is overwritten on every input.
std::string ScratchPath(absl::string_view name);

// Writes `bytes` to `path`, replacing it; aborts if that fails, since the
// target could not test anything.
void WriteScratchFile(const std::string& path, absl::string_view bytes);

}  // namespace sluice::fuzz

#endif  // SLUICE_FUZZ_FUZZ_UTIL_H_
