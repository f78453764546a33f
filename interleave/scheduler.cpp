#include "interleave/scheduler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace interleave {

Execution Scheduler::run(std::vector<Body> bodies, Strategy& strategy) {
  if (bodies.empty()) return {};
  std::vector<ThreadState> fresh(bodies.size());
  threads_.swap(fresh);
  strategy_ = &strategy;
  execution_ = Execution{};
  aborting_ = false;
  unfinished_ = bodies.size();
  next_to_start_ = 0;
  std::vector<std::thread> os_threads;
  {
    std::unique_lock lock(mutex_);
    active_ = true;
    running_ = ThreadId(bodies.size());  // nobody yet
    for (ThreadId id = 0; id < bodies.size(); ++id)
      os_threads.emplace_back([this, id, &bodies] { thread_main(id, bodies[id]); });
    // The threads start one after another, each running up to its first point (what
    // comes before touches nothing shared); the first decision is made there.
    next_to_start_ = 1;
    hand_to(0);
    all_done_.wait(lock, [&] { return unfinished_ == 0; });
    active_ = false;
  }
  for (std::thread& t : os_threads) t.join();
  strategy_ = nullptr;
  return std::move(execution_);
}

void Scheduler::thread_main(ThreadId id, const Body& body) {
  bool skip = false;
  {
    std::unique_lock lock(mutex_);
    threads_[id].wake.wait(lock, [&] { return running_ == id; });
    skip = aborting_;  // the execution ended before this thread's first turn
  }
  std::exception_ptr thrown;
  try {
    if (!skip) body();
  } catch (const Aborted&) {
  } catch (...) {
    thrown = std::current_exception();
  }
  std::unique_lock lock(mutex_);
  threads_[id].finished = true;
  --unfinished_;
  if (thrown && !aborting_) {
    execution_.exception = thrown;
    end_early(lock, Execution::End::exception, "");
  }
  if (unfinished_ == 0) {
    all_done_.notify_all();
    return;
  }
  switch_from(lock, id, false);
}

std::vector<ThreadId> Scheduler::runnable_locked() const {
  std::vector<ThreadId> out;
  for (ThreadId id = 0; id < threads_.size(); ++id) {
    const ThreadState& t = threads_[id];
    if (t.finished) continue;
    if (aborting_ || !t.blocked_on || t.blocked_on()) out.push_back(id);
  }
  return out;
}

void Scheduler::hand_to(ThreadId next) {
  running_ = next;
  threads_[next].wake.notify_one();
}

void Scheduler::end_early(std::unique_lock<std::mutex>&, Execution::End end, std::string detail) {
  if (aborting_) return;
  aborting_ = true;
  execution_.end = end;
  execution_.detail = std::move(detail);
}

void Scheduler::switch_from(std::unique_lock<std::mutex>& lock, ThreadId self, bool self_can_go_on) {
  if (next_to_start_ < threads_.size() && !aborting_) {
    wait_for_baton(lock, self, next_to_start_++);  // still starting: no decision yet
    return;
  }
  std::vector<ThreadId> runnable = runnable_locked();
  if (runnable.empty()) {
    // Everyone left is blocked: a deadlock. Unwind them one at a time.
    std::string who;
    for (ThreadId id = 0; id < threads_.size(); ++id)
      if (!threads_[id].finished) who += fmt::format("{}T{} waits for {}", who.empty() ? "" : "; ", id, threads_[id].waiting_for);
    end_early(lock, Execution::End::deadlock, who);
    runnable = runnable_locked();
  }
  ThreadId next;
  if (aborting_) {
    next = runnable.front();  // unwinding: no choices, no record
  } else {
    // The first decision picks who makes the first access: nobody is preempted by it.
    if (execution_.decisions == 0) self_can_go_on = false;
    Decision d{execution_.decisions++, self_can_go_on ? std::optional(self) : std::nullopt, runnable};
    next = runnable.size() == 1 ? runnable.front() : strategy_->pick(d);
    if (!std::binary_search(runnable.begin(), runnable.end(), next))
      throw std::logic_error(fmt::format("strategy picked T{}, which cannot run", next));
    if (runnable.size() > 1) execution_.schedule.push_back(next);
    if (self_can_go_on && next != self) ++execution_.preemptions;
  }
  if (next != self) wait_for_baton(lock, self, next);
}

void Scheduler::wait_for_baton(std::unique_lock<std::mutex>& lock, ThreadId self, ThreadId next) {
  hand_to(next);
  if (threads_[self].finished) return;
  threads_[self].wake.wait(lock, [&] { return running_ == self; });
  if (aborting_ && std::uncaught_exceptions() == 0) throw Aborted{};
}

void Scheduler::point(EventKind kind, uint64_t object, std::string_view function) {
  std::unique_lock lock(mutex_);
  if (aborting_) {
    if (std::uncaught_exceptions() == 0) throw Aborted{};
    return;  // a destructor on the way out: nothing to record, no switch
  }
  const ThreadId self = running_;
  switch_from(lock, self, true);
  execution_.events.push_back(Event{self, kind, object, function});
}

void Scheduler::acquire(const std::function<bool()>& free, const std::function<void()>& take, EventKind kind,
                        uint64_t object, std::string_view function, const std::string& what) {
  std::unique_lock lock(mutex_);
  if (aborting_) {
    if (std::uncaught_exceptions() == 0) throw Aborted{};
    return;
  }
  const ThreadId self = running_;
  switch_from(lock, self, true);
  block_while_not(lock, self, free, what);
  take();
  execution_.events.push_back(Event{self, kind, object, function});
}

bool Scheduler::try_acquire(const std::function<bool()>& free, const std::function<void()>& take, EventKind kind,
                            uint64_t object, std::string_view function) {
  std::unique_lock lock(mutex_);
  if (aborting_) {
    if (std::uncaught_exceptions() == 0) throw Aborted{};
    return false;
  }
  const ThreadId self = running_;
  switch_from(lock, self, true);
  const bool took = free();
  if (took) take();
  execution_.events.push_back(Event{self, took ? kind : EventKind::read, object, function});
  return took;
}

void Scheduler::block_while_not(std::unique_lock<std::mutex>& lock, ThreadId self, const std::function<bool()>& ready,
                                const std::string& what) {
  while (!ready()) {
    if (aborting_) {
      if (std::uncaught_exceptions() == 0) throw Aborted{};
      return;
    }
    threads_[self].blocked_on = ready;
    threads_[self].waiting_for = what;
    switch_from(lock, self, false);
    threads_[self].blocked_on = nullptr;
  }
}

void Scheduler::wait_until(const std::function<bool()>& ready, const std::string& what) {
  std::unique_lock lock(mutex_);
  block_while_not(lock, running_, ready, what);
}

}  // namespace interleave
