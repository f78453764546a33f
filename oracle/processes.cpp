#include "oracle/processes.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "oracle/cleanup.hpp"
#include "oracle/worker.hpp"

namespace oracle {
namespace {

// A worker that does not answer within this long is stuck; the run fails.
constexpr int reply_timeout_ms = 30'000;

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

void socket_pair(int fds[2]) {
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0)
    throw OracleError(fmt::format("socketpair: {}", std::strerror(errno)));
}

// Closes every descriptor but `keep` (sorted): a worker holds only its socket and the
// files it maps, so none of the controller's other ends stay open in it.
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (fd < 0 || unsigned(fd) < from) continue;
    if (unsigned(fd) > from) syscall(SYS_close_range, from, unsigned(fd) - 1, 0);
    from = unsigned(fd) + 1;
  }
  syscall(SYS_close_range, from, ~0u, 0);
}

}  // namespace

Processes::Processes(std::vector<int> keep_fds) : keep_fds_(std::move(keep_fds)) {}

Processes::~Processes() { kill_all(); }

Processes::Proc& Processes::proc(ops::Pid pid) {
  auto it = procs_.find(pid);
  if (it == procs_.end()) throw OracleError(fmt::format("no process for trace pid {}", pid));
  return it->second;
}

pid_t Processes::real_pid(ops::Pid pid) const { return procs_.at(pid).real; }

std::map<ops::Pid, pid_t> Processes::real_pids() const {
  std::map<ops::Pid, pid_t> out;
  for (const auto& [pid, p] : procs_) out[pid] = p.real;
  return out;
}

void Processes::start(void (*prepare)(void*), void* arg) {
  int fds[2];
  socket_pair(fds);
  const pid_t controller = getpid();
  // Orphans (a process whose parent exited first) come back to us to be reaped.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::fflush(nullptr);  // the child must not flush the controller's buffers again
  pid_t pid = ::fork();
  if (pid < 0) throw OracleError(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != controller) _exit(0);
    std::vector<int> keep = keep_fds_;
    keep.push_back(fds[1]);
    close_all_but(keep);
    prepare(arg);
    worker_main(fds[1]);
  }
  close(fds[1]);
  register_process(pid);
  procs_[1] = Proc{pid, fds[0], pidfd_open(pid)};
  // One round trip: once it answers, `prepare` is done and the region is empty.
  Request nothing;
  nothing.command = Command::peek;
  call(1, nothing);
}

void Processes::send_request(const Proc& p, const Request& request, int pass_fd) {
  char control[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{const_cast<Request*>(&request), sizeof request};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (pass_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
  }
  ssize_t n;
  do n = sendmsg(p.sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof request))
    throw OracleError(fmt::format("process {} does not take requests: {}", p.real, std::strerror(errno)));
}

Reply Processes::receive_reply(const Proc& p, ops::Pid pid) {
  pollfd pfd{p.sock, POLLIN, 0};
  int ready;
  do ready = poll(&pfd, 1, reply_timeout_ms);
  while (ready < 0 && errno == EINTR);
  if (ready == 0)
    throw OracleError(fmt::format("trace pid {} (process {}) did not answer within {} s", pid, p.real,
                                  reply_timeout_ms / 1000));
  Reply reply;
  ssize_t n;
  do n = recv(p.sock, &reply, sizeof reply, 0);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof reply))
    throw OracleError(fmt::format("trace pid {} (process {}) died", pid, p.real));
  return reply;
}

Reply Processes::call(ops::Pid pid, const Request& request) {
  Proc& p = proc(pid);
  send_request(p, request, -1);
  return receive_reply(p, pid);
}

int Processes::fork(ops::Pid parent, ops::Pid child) {
  Proc& p = proc(parent);
  int fds[2];
  socket_pair(fds);
  Request request;
  request.command = Command::fork;
  send_request(p, request, fds[1]);
  close(fds[1]);
  Reply reply = receive_reply(p, parent);
  if (reply.ret < 0) {
    close(fds[0]);
    return reply.err;
  }
  const pid_t real = static_cast<pid_t>(reply.ret);
  register_process(real);
  Proc c{real, fds[0], pidfd_open(real)};
  procs_[child] = c;
  Reply hello = receive_reply(c, child);
  if (hello.ret != real) throw OracleError(fmt::format("forked process {} answered as {}", real, hello.ret));
  return 0;
}

void Processes::await_exit(Proc& p) {
  if (p.pidfd >= 0) {
    pollfd pfd{p.pidfd, POLLIN, 0};
    int ready;
    do ready = poll(&pfd, 1, reply_timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready == 0) throw OracleError(fmt::format("process {} did not exit", p.real));
  }
  // Reap it if it is ours: the first process, or an orphan given to us (subreaper).
  waitpid(p.real, nullptr, WNOHANG);
}

void Processes::exit(ops::Pid pid) {
  Proc& p = proc(pid);
  Request request;
  request.command = Command::exit;
  send_request(p, request, -1);
  await_exit(p);
  forget(pid);
}

void Processes::forget(ops::Pid pid) {
  Proc& p = procs_.at(pid);
  unregister_process(p.real);
  close(p.sock);
  if (p.pidfd >= 0) close(p.pidfd);
  procs_.erase(pid);
}

void Processes::kill_all() {
  for (auto& [pid, p] : procs_) kill(p.real, SIGKILL);
  for (auto& [pid, p] : procs_) {
    try {
      await_exit(p);
    } catch (const OracleError&) {
      // Killed processes always exit; nothing more can be done here.
    }
  }
  while (!procs_.empty()) forget(procs_.begin()->first);
}

}  // namespace oracle
