#include "fuzz/fuzz_util.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace sluice::fuzz {

std::string ScratchPath(absl::string_view name) {
  const char* dir = std::getenv("TMPDIR");
  return absl::StrCat(dir != nullptr && *dir != '\0' ? dir : "/tmp", "/sluice_fuzz_", ::getpid(),
                      "_", name);
}

void WriteScratchFile(const std::string& path, absl::string_view bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) PropertyFailed("cannot create the scratch file", path);
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) PropertyFailed("cannot write the scratch file", path);
}

}  // namespace sluice::fuzz
