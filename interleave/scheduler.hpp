#pragma once
// The deterministic scheduler: runs a group's threads of control one at a time and
// switches only at scheduling points, where a Strategy picks who runs next. The choices
// it made are the schedule; the same bodies with the same schedule give the same
// execution, event for event, always.
//
//   Scheduler sched;
//   Execution e = sched.run({body_a, body_b}, strategy);
//   // inside a body, just before a shared access or after taking a lock:
//   sched.point(EventKind::write, object_id, "move_ptes");
//   sched.wait_until([&] { return !lock.writer; }, "mmap_lock of pid 1");
//
// The threads start in order, each running up to its first point (code before it must
// touch nothing shared); from there on every decision picks whose next access comes
// next. Each body runs on an OS thread of its own, but only the one holding the baton runs:
// the others wait on a condition variable. That keeps the implementation's code as it
// is (no fibers, nothing special for ASan) while only one thread touches its state at a
// time. A thread that blocks in wait_until is not picked until its condition holds;
// when every thread that has not finished is blocked, the execution ends in a deadlock,
// and the blocked threads are unwound one at a time (wait_until and point throw Aborted
// into them).

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "interleave/event.hpp"

namespace interleave {

// The thread picked at each decision that had more than one thread to pick from.
using Schedule = std::vector<ThreadId>;

struct Decision {
  size_t step = 0;                 // decisions before this one, with a choice or not
  std::optional<ThreadId> current; // the thread at the point, if it can go on
  std::vector<ThreadId> runnable;  // ascending, never empty
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // One of d.runnable.
  virtual ThreadId pick(const Decision& d) = 0;
};

struct Execution {
  enum class End { finished, deadlock, exception };
  End end = End::finished;
  std::vector<Event> events;
  Schedule schedule;
  size_t decisions = 0;          // every decision, with a choice or not
  size_t preemptions = 0;        // switches away from a thread that could have gone on
  std::string detail;            // a deadlock: who waited for what
  std::exception_ptr exception;  // End::exception: what the first body threw
};

// Thrown into the threads still running when an execution ends early; bodies let it
// pass (their RAII unwinds as for any exception).
struct Aborted {};

class Scheduler {
 public:
  using Body = std::function<void()>;

  Execution run(std::vector<Body> bodies, Strategy& strategy);

  // From inside a body, just before an access other threads could see: lets the
  // strategy switch threads, then records the event (the caller makes the access right
  // after, so the events are in the order the accesses happen). A thread's last access
  // is so followed by no decision: it runs to its end.
  void point(EventKind kind, uint64_t object, std::string_view function);
  // From inside a body: returns once `ready()` holds, letting others run meanwhile.
  // `ready` is evaluated while no body runs. `what` names the wait in a deadlock report.
  void wait_until(const std::function<bool()>& ready, const std::string& what);
  // From inside a body, a lock acquisition: a scheduling point, then a wait while the
  // lock is not `free()`, then `take()` and the event, with no switch between the last
  // check and the take.
  void acquire(const std::function<bool()>& free, const std::function<void()>& take, EventKind kind,
               uint64_t object, std::string_view function, const std::string& what);
  // From inside a body, a trylock: a scheduling point, then, with no switch, `take()`
  // and an acquire event if `free()` holds, a read event on the lock if not. Whether
  // it took the lock.
  bool try_acquire(const std::function<bool()>& free, const std::function<void()>& take, EventKind kind,
                   uint64_t object, std::string_view function);
  // The thread running now (from inside a body).
  ThreadId self() const { return running_; }
  // Whether run() is under way: code shared with sequential runs asks this first.
  bool active() const { return active_; }

 private:
  struct ThreadState {
    bool finished = false;
    std::function<bool()> blocked_on;  // empty: not blocked
    std::string waiting_for;
    std::condition_variable wake;
  };

  std::vector<ThreadId> runnable_locked() const;
  // Picks who runs next and hands over the baton; returns once `self` has it back (not
  // at all for a thread that finished). The mutex is held throughout.
  void switch_from(std::unique_lock<std::mutex>& lock, ThreadId self, bool self_can_go_on);
  void hand_to(ThreadId next);
  // Hands the baton to `next` and waits for it to come back (not at all once finished).
  void wait_for_baton(std::unique_lock<std::mutex>& lock, ThreadId self, ThreadId next);
  void block_while_not(std::unique_lock<std::mutex>& lock, ThreadId self, const std::function<bool()>& ready,
                       const std::string& what);
  void end_early(std::unique_lock<std::mutex>& lock, Execution::End end, std::string detail);
  void thread_main(ThreadId id, const Body& body);

  std::mutex mutex_;
  std::condition_variable all_done_;
  std::vector<ThreadState> threads_;
  Strategy* strategy_ = nullptr;
  Execution execution_;
  ThreadId running_ = 0;
  bool active_ = false;
  bool aborting_ = false;
  size_t unfinished_ = 0;
  size_t next_to_start_ = 0;  // threads from here on have not run yet
};

}  // namespace interleave
