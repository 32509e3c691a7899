// Liveness, the allocator and the memory plan on hand-built schedules: no
// graph, no kernels.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "passes/memory/allocator.h"
#include "passes/memory/liveness.h"
#include "passes/memory/memory_plan.h"

namespace sluice {
namespace {

// Builds schedules step by step: each call adds a step writing new slots.
class ScheduleBuilder {
 public:
  int Feed(int64_t bytes, DType dtype = DType::kF32) {
    schedule_.slots.push_back({dtype, bytes, /*fed=*/true, false});
    return static_cast<int>(schedule_.slots.size()) - 1;
  }
  // A step reading `inputs` and writing one new slot of `bytes`.
  int Step(std::vector<int> inputs, int64_t bytes, bool in_place_op = false,
           bool forwarded = false, DType dtype = DType::kF32) {
    schedule_.slots.push_back({dtype, bytes, false, false});
    const int slot = static_cast<int>(schedule_.slots.size()) - 1;
    schedule_.steps.push_back({std::move(inputs), {slot}, {forwarded}, in_place_op});
    return slot;
  }
  void Fetch(int slot) { schedule_.slots[slot].fetched = true; }
  const Schedule& schedule() const { return schedule_; }
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (size_t i = 0; i < schedule_.slots.size(); ++i) names.push_back(absl::StrCat("s", i));
    return names;
  }

 private:
  Schedule schedule_;
};

TEST_CASE("greedy by size places three buffers at exact offsets") {
  // A lives over steps 0-1, B over 1-2, C over 2-3: A and C can share.
  const std::vector<AllocationRequest> requests = {{100, 0, 1}, {64, 1, 2}, {100, 2, 3}};
  auto greedy = Allocate(requests, AllocationStrategy::kGreedyBySize);
  REQUIRE(greedy.ok());
  CHECK(greedy->offsets == std::vector<int64_t>{0, 128, 0});
  CHECK(greedy->peak == 192);
  auto best = Allocate(requests, AllocationStrategy::kBestFit);
  REQUIRE(best.ok());
  CHECK(best->offsets == std::vector<int64_t>{0, 128, 0});
  CHECK(best->peak == 192);
  auto breadth = Allocate(requests, AllocationStrategy::kGreedyByBreadth);
  REQUIRE(breadth.ok());
  CHECK(breadth->offsets == std::vector<int64_t>{0, 128, 0});
  CHECK(breadth->peak == 192);
  auto none = Allocate(requests, AllocationStrategy::kNoReuse);
  REQUIRE(none.ok());
  CHECK(none->offsets == std::vector<int64_t>{0, 128, 192});
  CHECK(none->peak == 320);
  CHECK(LowerBoundBytes(requests) == 192);
  CHECK(NoReuseBytes(requests) == 320);
}

TEST_CASE("greedy by size fills the lowest gap that holds a buffer") {
  // The largest (steps 5-6) goes to 0 first; the next (0-4) is never alive
  // with it and takes 0 too; the small ones stack above whichever is alive.
  const std::vector<AllocationRequest> requests = {
      {640, 0, 4}, {64, 0, 1}, {128, 2, 3}, {704, 5, 6}, {64, 6, 6}};
  auto a = Allocate(requests, AllocationStrategy::kGreedyBySize);
  REQUIRE(a.ok());
  CHECK(a->offsets == std::vector<int64_t>{0, 640, 640, 0, 704});
  CHECK(a->peak == 768);
  CHECK(LowerBoundBytes(requests) == 768);
}

TEST_CASE("greedy by size puts the longest-lived of equal sizes lowest") {
  // Of the 128-byte buffers, [0,3] and [2,5] go first (at 0 and at 256,
  // above the larger ones of steps 4-6) and the shorter ones fit between
  // them; taken by first use, [0,2] and [0,0] come before [2,5] and push it
  // up to 384 (peak 512).
  const std::vector<AllocationRequest> requests = {{128, 0, 2}, {128, 0, 0}, {128, 0, 3},
                                                   {64, 1, 1},  {192, 5, 6}, {128, 2, 5},
                                                   {256, 4, 4}};
  auto a = Allocate(requests, AllocationStrategy::kGreedyBySize);
  REQUIRE(a.ok());
  CHECK(a->peak == 384);
  CHECK(a->peak == LowerBoundBytes(requests));
}

TEST_CASE("greedy by size keeps the best of its orders") {
  // Schedules on which largest-first (by either tie-break) loses to largest
  // size x lifetime first, to longest lifetime first and to first use first.
  struct Case {
    std::vector<AllocationRequest> requests;
    int64_t largest_first_peak;
    int64_t peak;
  };
  const std::vector<Case> cases = {
      {{{256, 4, 6}, {128, 3, 6}, {192, 2, 2}, {128, 1, 3}}, 448, 384},
      {{{192, 1, 4}, {256, 0, 1}, {192, 2, 3}, {192, 3, 3}}, 640, 576},
      {{{192, 1, 1}, {64, 3, 5}, {192, 5, 5}, {128, 1, 4}}, 384, 320},
  };
  for (const Case& c : cases) {
    INFO("first buffer " << c.requests[0].size);
    auto a = Allocate(c.requests, AllocationStrategy::kGreedyBySize);
    REQUIRE(a.ok());
    CHECK(a->peak == c.peak);
    CHECK(a->peak < c.largest_first_peak);
  }
}

TEST_CASE("best fit prefers the smallest gap") {
  // At step 3, the gaps are [0,256) (A died) and [320,384) (C died); D (64
  // bytes) goes to the 64-byte gap, leaving the large one whole.
  const std::vector<AllocationRequest> requests = {
      {256, 0, 2}, {64, 0, 5}, {64, 0, 2}, {64, 3, 5}, {64, 0, 5}};
  auto a = Allocate(requests, AllocationStrategy::kBestFit);
  REQUIRE(a.ok());
  CHECK(a->offsets[0] == 0);
  CHECK(a->offsets[1] == 256);
  CHECK(a->offsets[2] == 320);
  CHECK(a->offsets[3] == 320);
  CHECK(a->offsets[4] == 384);
}

TEST_CASE("on chains the arena equals the lower bound") {
  const std::vector<std::vector<int64_t>> chains = {
      {1000, 200, 3000, 500, 500, 4000, 64},
      {64, 128, 64, 128, 64, 128},
      {4096, 4096, 4096, 4096},
      {1, 5000, 4000, 5000, 1, 70000, 3, 2},
  };
  for (const std::vector<int64_t>& sizes : chains) {
    std::vector<AllocationRequest> requests;
    for (size_t i = 0; i < sizes.size(); ++i) {
      requests.push_back({sizes[i], static_cast<int>(i), static_cast<int>(i) + 1});
    }
    auto a = Allocate(requests, AllocationStrategy::kGreedyBySize);
    REQUIRE(a.ok());
    INFO("first size " << sizes[0]);
    CHECK(a->peak == LowerBoundBytes(requests));
  }
}

TEST_CASE("verification catches buffers that overlap while alive") {
  const std::vector<AllocationRequest> requests = {{128, 0, 2}, {128, 1, 3}, {128, 3, 4}};
  Allocation bad;
  bad.offsets = {0, 64, 256};
  bad.peak = 384;
  const absl::Status status = VerifyAllocation(requests, bad);
  CHECK(status.code() == absl::StatusCode::kInternal);
  CHECK(std::string(status.message()).find("buffers 0 [0,128) steps [0,2] and 1") !=
        std::string::npos);

  Allocation good;
  good.offsets = {0, 128, 0};  // 2 may take 0's place: 0 is dead at step 3
  good.peak = 256;
  CHECK(VerifyAllocation(requests, good).ok());

  Allocation misaligned = good;
  misaligned.offsets[1] = 130;
  misaligned.peak = 320;
  CHECK(!VerifyAllocation(requests, misaligned).ok());

  Allocation beyond = good;
  beyond.peak = 200;
  CHECK(!VerifyAllocation(requests, beyond).ok());
}

TEST_CASE("bad requests are errors") {
  CHECK(!Allocate({{-1, 0, 0}}, AllocationStrategy::kGreedyBySize).ok());
  CHECK(!Allocate({{64, 3, 2}}, AllocationStrategy::kBestFit).ok());
  CHECK(!Allocate({{64, 0, 0}}, AllocationStrategy::kBestFit, 48).ok());
  auto empty = Allocate({}, AllocationStrategy::kGreedyBySize);
  REQUIRE(empty.ok());
  CHECK(empty->peak == 0);
}

TEST_CASE("liveness: fed, fetched and forwarded slots stay out of the arena") {
  ScheduleBuilder b;
  const int x = b.Feed(400);
  const int a = b.Step({x}, 400);                    // step 0
  const int view = b.Step({a}, 400, false, true);    // step 1: a view of a
  const int c = b.Step({view}, 400);                 // step 2
  const int d = b.Step({c}, 400);                    // step 3
  b.Fetch(d);
  auto live = ComputeLiveness(b.schedule());
  REQUIRE(live.ok());
  CHECK(live->buffer_of_slot[x] == -1);
  CHECK(live->buffer_of_slot[view] == -1);
  CHECK(live->buffer_of_slot[d] == -1);
  REQUIRE(live->buffers.size() == 2);
  CHECK(live->buffers[0].slots == std::vector<int>{a});
  // The view is read at step 2, so what it views lives until then.
  CHECK(live->buffers[0].lifetime.first == 0);
  CHECK(live->buffers[0].lifetime.last == 2);
  CHECK(live->buffers[1].slots == std::vector<int>{c});
  CHECK(live->buffers[1].lifetime.first == 2);
  CHECK(live->buffers[1].lifetime.last == 3);
  CHECK(live->slot_lifetimes[d].last == 4);  // read by the caller after step 3
}

TEST_CASE("liveness: views extend their sources transitively, fetched views to the end") {
  ScheduleBuilder b;
  const int x = b.Feed(256);
  const int a = b.Step({x}, 256);                  // step 0
  const int v1 = b.Step({a}, 256, false, true);    // step 1: Reshape(a)
  const int v2 = b.Step({v1}, 256, false, true);   // step 2: Identity(v1)
  const int c = b.Step({x}, 256);                  // step 3
  const int e = b.Step({v2, c}, 256);              // step 4: reads the view of a view
  const int f = b.Step({e}, 256);                  // step 5
  const int g = b.Step({f}, 256, false, true);     // step 6: a view of f, fetched
  b.Step({f}, 256);                                // step 7
  b.Fetch(g);
  auto live = ComputeLiveness(b.schedule());
  REQUIRE(live.ok());
  CHECK(live->slot_lifetimes[v1].last == 4);
  CHECK(live->buffers[live->buffer_of_slot[a]].lifetime.last == 4);
  CHECK(live->buffers[live->buffer_of_slot[c]].lifetime.last == 4);
  CHECK(live->buffers[live->buffer_of_slot[e]].lifetime.last == 5);
  // The caller clones the fetched view after the last step: f must survive.
  CHECK(live->buffers[live->buffer_of_slot[f]].lifetime.last == 8);
}

TEST_CASE("liveness: in-place only where the input dies, matches and is arena memory") {
  SECTION("a chain of element-wise ops shares one buffer") {
    ScheduleBuilder b;
    const int x = b.Feed(512);
    const int a = b.Step({x}, 512);             // step 0, not in-place: x is fed
    const int r1 = b.Step({a}, 512, true);      // step 1
    const int r2 = b.Step({r1}, 512, true);     // step 2
    const int r3 = b.Step({r2, x}, 512, true);  // step 3: Add(r2, x)
    b.Step({r3}, 4);                            // step 4: a reduction
    auto live = ComputeLiveness(b.schedule());
    REQUIRE(live.ok());
    CHECK(live->in_place_input == std::vector<int>{-1, 0, 0, 0, -1});
    REQUIRE(live->buffers.size() == 2);
    CHECK(live->buffers[0].slots == std::vector<int>{a, r1, r2, r3});
    CHECK(live->buffers[0].lifetime.first == 0);
    CHECK(live->buffers[0].lifetime.last == 4);
    auto off = ComputeLiveness(b.schedule(), {.in_place = false});
    REQUIRE(off.ok());
    CHECK(off->buffers.size() == 5);
    CHECK(off->in_place_input == std::vector<int>{-1, -1, -1, -1, -1});
  }
  SECTION("not over an input read later") {
    ScheduleBuilder b;
    const int x = b.Feed(512);
    const int a = b.Step({x}, 512);
    b.Step({a}, 512, true);  // Relu(a), a is read again below
    b.Step({a}, 512);
    auto live = ComputeLiveness(b.schedule());
    REQUIRE(live.ok());
    CHECK(live->in_place_input[1] == -1);
    CHECK(live->buffers.size() == 3);
  }
  SECTION("the second input when the first does not qualify") {
    ScheduleBuilder b;
    const int x = b.Feed(512);
    const int bias = b.Step({x}, 16);          // step 0: a small operand
    const int a = b.Step({x}, 512);            // step 1
    const int sum = b.Step({bias, a}, 512, true);  // step 2: Add(bias, a) broadcasts bias
    auto live = ComputeLiveness(b.schedule());
    REQUIRE(live.ok());
    CHECK(live->in_place_input[2] == 1);
    CHECK(live->buffer_of_slot[sum] == live->buffer_of_slot[a]);
  }
  SECTION("not across dtypes, over views, fed or fetched inputs, or for other ops") {
    ScheduleBuilder b;
    const int x = b.Feed(512);
    const int i32 = b.Step({x}, 512, false, false, DType::kI32);  // step 0
    const int f32 = b.Step({i32}, 512, true);                     // step 1: other dtype
    const int view = b.Step({f32}, 512, false, true);             // step 2: view of f32
    const int r = b.Step({view}, 512, true);                      // step 3: over a view
    const int fetched = b.Step({r}, 512);                         // step 4
    const int r2 = b.Step({fetched}, 512, true);                  // step 5: over a fetch
    const int other = b.Step({r2}, 512, false);                   // step 6: op not allowed
    b.Step({x, other}, 512, true);                                // step 7: x fed; other ok
    b.Fetch(fetched);
    auto live = ComputeLiveness(b.schedule());
    REQUIRE(live.ok());
    CHECK(live->in_place_input == std::vector<int>{-1, -1, -1, -1, -1, -1, -1, 1});
    // Step 3 reads the view of f32, which keeps f32 alive through step 3.
    CHECK(live->buffers[live->buffer_of_slot[f32]].lifetime.last == 3);
  }
}

TEST_CASE("liveness rejects malformed schedules") {
  Schedule s;
  s.slots = {{DType::kF32, 4, false, false}, {DType::kF32, 4, false, false}};
  s.steps = {{{1}, {0}, {}, false}, {{0}, {1}, {}, false}};  // reads 1 before it exists
  CHECK(!ComputeLiveness(s).ok());
  s.steps = {{{}, {0}, {}, false}, {{0}, {0}, {}, false}};  // writes 0 twice
  CHECK(!ComputeLiveness(s).ok());
  s.steps = {{{}, {7}, {}, false}};
  CHECK(!ComputeLiveness(s).ok());
}

TEST_CASE("the memory plan prints a line per buffer and a summary") {
  ScheduleBuilder b;
  const int x = b.Feed(1000);
  const int a = b.Step({x}, 1000);        // step 0
  const int r = b.Step({a}, 1000, true);  // step 1: in place over a
  const int c = b.Step({r}, 100);         // step 2
  const int d = b.Step({c}, 1000);        // step 3
  b.Step({d}, 4);                         // step 4
  const std::vector<std::string> names = b.Names();
  auto plan = BuildMemoryPlan(b.schedule(), names);
  REQUIRE(plan.ok());
  CHECK(plan->num_in_place == 1);
  CHECK(plan->slot_offsets[x] == -1);
  CHECK(plan->slot_offsets[a] == plan->slot_offsets[r]);
  CHECK(plan->lower_bound_bytes == 1024 + 128);
  CHECK(plan->arena_bytes == plan->lower_bound_bytes);
  CHECK(plan->no_reuse_bytes == 1024 + 1024 + 128 + 1024 + 64);  // a and r apart
  const std::vector<std::string> lines =
      absl::StrSplit(plan->ToString(), '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == absl::StrCat("s1 1000 ", plan->slot_offsets[a], " [0,2] in_place=s2"));
  CHECK(lines[1] == absl::StrCat("s3 100 ", plan->slot_offsets[c], " [2,3]"));
  CHECK(lines[4] == absl::StrCat("memory: arena_bytes=", plan->arena_bytes,
                                 " lower_bound_bytes=1152 no_reuse_bytes=3264"));

  auto baseline = BuildMemoryPlan(b.schedule(), names, {.reuse = false});
  REQUIRE(baseline.ok());
  CHECK(baseline->num_in_place == 0);
  CHECK(baseline->arena_bytes == baseline->no_reuse_bytes);
  CHECK(baseline->strategy == AllocationStrategy::kNoReuse);

  CHECK(!BuildMemoryPlan(b.schedule(), {"only one"}).ok());
}

}  // namespace
}  // namespace sluice
