#pragma once
// The controller's side of the real processes: one per live trace pid, each running
// worker_main() and reached through its own socket. `fork P` makes P call fork(2),
// and the child joins as a new trace pid; `exit P` makes P exit and waits until the
// kernel has torn its address space down.
//
// Every process is killed when the Processes object goes (also when a run fails), and
// is registered with the interrupt handler (cleanup.hpp) while it lives.

#include <sys/types.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "oracle/protocol.hpp"
#include "ops/types.hpp"

namespace oracle {

// The oracle itself failed (a worker died, a /proc file could not be read): not a
// finding about the model.
struct OracleError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Processes {
 public:
  // `keep_fds` stay open in the first process (the files it maps); every other
  // descriptor the controller has is closed there.
  explicit Processes(std::vector<int> keep_fds);
  ~Processes();
  Processes(const Processes&) = delete;
  Processes& operator=(const Processes&) = delete;

  // Starts trace pid 1. `prepare` runs in it first (it empties the oracle's region).
  void start(void (*prepare)(void*), void* arg);

  bool alive(ops::Pid pid) const { return procs_.count(pid) != 0; }
  size_t count() const { return procs_.size(); }
  pid_t real_pid(ops::Pid pid) const;
  std::map<ops::Pid, pid_t> real_pids() const;

  // Sends the request to `pid` and waits for its reply.
  Reply call(ops::Pid pid, const Request& request);
  // `parent` forks; the child becomes trace pid `child`. Returns the fork's errno, or 0.
  int fork(ops::Pid parent, ops::Pid child);
  // `pid` exits; returns once its address space is gone.
  void exit(ops::Pid pid);
  void kill_all();

 private:
  struct Proc {
    pid_t real = 0;
    int sock = -1;   // the controller's end
    int pidfd = -1;  // readable once the process has exited
  };
  Proc& proc(ops::Pid pid);
  void send_request(const Proc& p, const Request& request, int pass_fd);
  Reply receive_reply(const Proc& p, ops::Pid pid);
  void await_exit(Proc& p);
  void forget(ops::Pid pid);

  std::vector<int> keep_fds_;
  std::map<ops::Pid, Proc> procs_;
};

}  // namespace oracle
