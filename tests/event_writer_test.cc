// TensorBoard event files: TFRecord framing, the records an EventWriter
// writes, and the reader's CRC and truncation checks.
#include "runtime/event_writer.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "proto/event.pb.h"
#include "runtime/crc32c.h"
#include "runtime/npy.h"
#include "tests/temp_dir.h"

namespace sluice {
namespace {

using testing::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;


std::string ReadAll(const std::string& path) {
  auto bytes = ReadFileToString(path);
  REQUIRE(bytes.ok());
  return *bytes;
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::vector<proto::Event> ReadEvents(const std::string& path) {
  auto records = ReadTfRecords(path);
  REQUIRE(records.ok());
  std::vector<proto::Event> events;
  for (const std::string& r : *records) {
    proto::Event e;
    REQUIRE(e.ParseFromString(r));
    events.push_back(e);
  }
  return events;
}

std::string Le(uint64_t value, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

TEST_CASE("A record is framed as length, masked length CRC, data, masked data CRC") {
  const std::string framed = FrameTfRecord("hello");
  REQUIRE(framed.size() == 8 + 4 + 5 + 4);
  CHECK(framed.substr(0, 8) == std::string("\x05\0\0\0\0\0\0\0", 8));
  // Worked out independently: CRC32C of the 8 length bytes is 0xE4094DC0,
  // masked 0x3E04B2EA; of "hello" 0x9A71BB4C, masked 0x191C1FBB.
  CHECK(Crc32c(framed.substr(0, 8)) == 0xE4094DC0u);
  CHECK(framed.substr(8, 4) == Le(0x3E04B2EAu, 4));
  CHECK(framed.substr(12, 5) == "hello");
  CHECK(framed.substr(17, 4) == Le(0x191C1FBBu, 4));
  CHECK(framed.substr(17, 4) == Le(MaskCrc32c(Crc32c("hello")), 4));
}

TEST_CASE("Scalars are written as Events that read back with tags, steps and values") {
  TempDir dir;
  const std::string logdir = dir.Path("logs/run1");  // missing, with a missing parent
  const double start = Now();
  auto writer = EventWriter::Create(logdir);
  REQUIRE(writer.ok());
  const std::string path = (*writer)->path();
  char host[256] = {};
  REQUIRE(gethostname(host, sizeof host - 1) == 0);
  CHECK_THAT(path, StartsWith(logdir + "/events.out.tfevents."));
  CHECK_THAT(path, EndsWith(std::string(".") + host));
  const std::string seconds = path.substr((logdir + "/events.out.tfevents.").size(), 10);
  CHECK(std::abs(std::stoll(seconds) - static_cast<long long>(start)) <= 2);

  REQUIRE((*writer)->AddScalar("loss", 1, 0.5).ok());
  REQUIRE((*writer)->AddScalar("loss", 2, 0.25).ok());
  REQUIRE((*writer)->AddScalar("train/accuracy", 2, 0.75).ok());
  REQUIRE((*writer)->AddScalar("big_step", int64_t{1} << 40, -3.0).ok());
  // Records are buffered: only the version event is in the file so far.
  CHECK(ReadEvents(path).size() == 1);
  REQUIRE((*writer)->Flush().ok());
  const double end = Now();

  const std::vector<proto::Event> events = ReadEvents(path);
  REQUIRE(events.size() == 5);
  CHECK(events[0].file_version() == "brain.Event:2");
  CHECK(events[0].step() == 0);
  CHECK_FALSE(events[0].has_summary());
  struct Expected {
    const char* tag;
    int64_t step;
    float value;
  };
  const Expected expected[] = {{"loss", 1, 0.5f},
                               {"loss", 2, 0.25f},
                               {"train/accuracy", 2, 0.75f},
                               {"big_step", int64_t{1} << 40, -3.0f}};
  for (int i = 0; i < 4; ++i) {
    const proto::Event& e = events[i + 1];
    INFO("event " << i + 1);
    CHECK(e.step() == expected[i].step);
    CHECK(e.wall_time() >= start - 1);
    CHECK(e.wall_time() <= end + 1);
    REQUIRE(e.summary().value_size() == 1);
    CHECK(e.summary().value(0).tag() == expected[i].tag);
    CHECK(e.summary().value(0).simple_value() == expected[i].value);
  }

  // The first record's framing, byte by byte.
  const std::string bytes = ReadAll(path);
  const std::string version = events[0].SerializeAsString();
  CHECK(bytes.substr(0, 8) == Le(version.size(), 8));
  CHECK(bytes.substr(8, 4) == Le(MaskCrc32c(Crc32c(Le(version.size(), 8))), 4));
  CHECK(bytes.substr(12, version.size()) == version);
  CHECK(bytes.substr(12 + version.size(), 4) == Le(MaskCrc32c(Crc32c(version)), 4));
}

TEST_CASE("Closing and destroying a writer flush it; a closed writer refuses records") {
  TempDir dir;
  std::string path;
  {
    auto writer = EventWriter::Create(dir.Path("a"));
    REQUIRE(writer.ok());
    path = (*writer)->path();
    REQUIRE((*writer)->AddScalar("x", 7, 1.5).ok());
  }
  std::vector<proto::Event> events = ReadEvents(path);
  REQUIRE(events.size() == 2);
  CHECK(events[1].step() == 7);
  CHECK(events[1].summary().value(0).simple_value() == 1.5f);

  auto writer = EventWriter::Create(dir.Path("b"));
  REQUIRE(writer.ok());
  REQUIRE((*writer)->AddScalar("y", 1, 2.0).ok());
  REQUIRE((*writer)->Close().ok());
  CHECK(ReadEvents((*writer)->path()).size() == 2);
  const absl::Status late = (*writer)->AddScalar("y", 2, 3.0);
  CHECK(late.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(late.message()),
             Contains("event file '" + (*writer)->path() + "' is closed"));
  CHECK((*writer)->Flush().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Bad tags and unusable log directories are clear errors") {
  TempDir dir;
  auto writer = EventWriter::Create(dir.Path("logs"));
  REQUIRE(writer.ok());
  const absl::Status empty_tag = (*writer)->AddScalar("", 1, 1.0);
  CHECK(empty_tag.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(empty_tag.message()), Contains("a scalar needs a non-empty tag"));

  WriteAll(dir.Path("plain_file"), "x");
  const std::string under_file = dir.Path("plain_file/logs");
  auto bad = EventWriter::Create(under_file);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("cannot create log directory '" + under_file + "'"));

  auto not_dir = EventWriter::Create(dir.Path("plain_file"));
  REQUIRE_FALSE(not_dir.ok());
  CHECK_THAT(std::string(not_dir.status().message()), Contains(dir.Path("plain_file")));

  auto empty = EventWriter::Create("");
  CHECK(empty.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Two writers in one directory within a second get different files") {
  TempDir dir;
  auto a = EventWriter::Create(dir.Path("logs"));
  auto b = EventWriter::Create(dir.Path("logs"));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->path() != (*b)->path());
  CHECK(ReadEvents((*b)->path()).size() == 1);
}

TEST_CASE("The reader reports a corrupt or truncated record by index") {
  TempDir dir;
  std::string path;
  {
    auto writer = EventWriter::Create(dir.Path("logs"));
    REQUIRE(writer.ok());
    path = (*writer)->path();
    for (int step = 0; step < 3; ++step) REQUIRE((*writer)->AddScalar("loss", step, step).ok());
  }
  const std::string good = ReadAll(path);
  auto records = ReadTfRecords(path);
  REQUIRE(records.ok());
  REQUIRE(records->size() == 4);
  // Byte offsets of each record.
  std::vector<size_t> starts = {0};
  for (const std::string& r : *records) starts.push_back(starts.back() + 16 + r.size());
  REQUIRE(starts.back() == good.size());
  const std::string bad_path = dir.Path("bad.tfevents");

  auto expect_error = [&](const std::string& bytes, const std::string& fragment) {
    WriteAll(bad_path, bytes);
    auto read = ReadTfRecords(bad_path);
    INFO(read.status().ToString());
    REQUIRE_FALSE(read.ok());
    CHECK(read.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(read.status().message()),
               Contains("TFRecord file '" + bad_path + "': " + fragment));
  };
  SECTION("flipped data byte") {
    std::string bytes = good;
    bytes[starts[2] + 12 + 3] ^= 0x20;
    expect_error(bytes, "record 2 at byte " + std::to_string(starts[2]) +
                            " is corrupt: the CRC32C of its data does not match");
  }
  SECTION("flipped data CRC") {
    std::string bytes = good;
    bytes[starts[2] - 1] ^= 0x01;  // the last byte of record 1's data CRC
    expect_error(bytes, "record 1 at byte " + std::to_string(starts[1]) + " is corrupt");
  }
  SECTION("flipped length byte") {
    std::string bytes = good;
    bytes[starts[3]] ^= 0x01;
    expect_error(bytes, "record 3 at byte " + std::to_string(starts[3]) +
                            " is corrupt: the CRC32C of its length does not match");
  }
  SECTION("truncated in the data") {
    expect_error(good.substr(0, good.size() - 6),
                 "record 3 at byte " + std::to_string(starts[3]) + " is truncated");
  }
  SECTION("truncated in the header") {
    expect_error(good.substr(0, starts[1] + 5),
                 "record 1 at byte " + std::to_string(starts[1]) +
                     " is truncated: 5 bytes, less than its 12-byte header");
  }
  SECTION("missing file") {
    auto read = ReadTfRecords(dir.Path("none"));
    CHECK(read.status().code() == absl::StatusCode::kNotFound);
  }
}

}  // namespace
}  // namespace sluice
