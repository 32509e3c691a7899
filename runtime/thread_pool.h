// A fixed set of worker threads running queued closures, for running
// independent branches of a plan at the same time.
#ifndef SLUICE_RUNTIME_THREAD_POOL_H_
#define SLUICE_RUNTIME_THREAD_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice {

class ThreadPool {
 public:
  // Starts `num_threads` workers (at least one).
  explicit ThreadPool(int num_threads);
  // Runs what is queued, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Schedule(std::function<void()> task);
  int num_threads() const { return static_cast<int>(workers_.size()); }

 private:
  void WorkerLoop();

  // Standard primitives, which ThreadSanitizer sees (docs/build.md).
  std::mutex mu_;  // guards queue_ and stopping_
  // Signalled when a task is queued or the pool starts stopping.
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace sluice

#endif  // SLUICE_RUNTIME_THREAD_POOL_H_
