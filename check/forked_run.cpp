#include "check/forked_run.hpp"

#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "impl/kernel.hpp"

namespace check {
namespace {

// A child that returned exits with this plus its body's value: a sanitizer's report exits
// with a small status (1) and must not pass for a body that returned.
constexpr int returned_base = 64;
constexpr int max_returned = 63;

std::string describe(int status) {
  if (WIFSIGNALED(status)) return fmt::format("died of signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  if (WIFEXITED(status))
    return fmt::format("exited with status {} (a sanitizer's report, if any, is on stderr)", WEXITSTATUS(status));
  return fmt::format("ended with wait status {:#x}", status);
}

// ---- a SequenceResult through a pipe: fixed-size words and length-prefixed strings ----

void put(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }

void put(std::string& out, std::string_view s) {
  put(out, uint64_t(s.size()));
  out.append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::optional<uint64_t> word() {
    if (in_.size() < sizeof(uint64_t)) return std::nullopt;
    uint64_t v;
    std::memcpy(&v, in_.data(), sizeof v);
    in_.remove_prefix(sizeof v);
    return v;
  }
  std::optional<std::string> text() {
    auto n = word();
    if (!n || in_.size() < *n) return std::nullopt;
    std::string s(in_.substr(0, *n));
    in_.remove_prefix(*n);
    return s;
  }

 private:
  std::string_view in_;
};

// What the child sends: a result, or the harness's own error (limits the runner cannot
// run, say), which the parent throws again rather than take it for a crash.
enum Sent : uint64_t { sent_result, sent_invalid_argument, sent_error };

std::string encode_error(Sent kind, std::string_view what) {
  std::string out;
  put(out, uint64_t(kind));
  put(out, what);
  return out;
}

// The finding's trace is not sent: it is the first op_index + 1 ops the runner ran.
std::string encode(const SequenceResult& r) {
  std::string out;
  put(out, uint64_t(sent_result));
  put(out, r.ops_run);
  put(out, r.ops_skipped);
  put(out, uint64_t(r.finding.has_value()));
  if (r.finding) {
    put(out, r.finding->op_index);
    put(out, r.finding->kind);
    put(out, uint64_t(r.finding->details.size()));
    for (const std::string& d : r.finding->details) put(out, d);
  }
  return out;
}

// Throws the child's error again.
std::optional<SequenceResult> decode(std::string_view in, std::span<const ops::Op> ran) {
  Reader r(in);
  const auto sent = r.word();
  if (!sent) return std::nullopt;
  if (*sent != sent_result) {
    const std::string what = r.text().value_or("the child's error was lost");
    if (*sent == sent_invalid_argument) throw std::invalid_argument(what);
    throw std::runtime_error(what);
  }
  SequenceResult out;
  auto run = r.word(), skipped = r.word(), has_finding = r.word();
  if (!run || !skipped || !has_finding) return std::nullopt;
  out.ops_run = *run;
  out.ops_skipped = *skipped;
  if (!*has_finding) return out;
  Finding f;
  auto index = r.word();
  auto kind = r.text();
  auto details = r.word();
  if (!index || !kind || !details || *index >= ran.size()) return std::nullopt;
  f.op_index = *index;
  f.op = ran[*index];
  f.kind = std::move(*kind);
  for (uint64_t i = 0; i < *details; ++i) {
    auto d = r.text();
    if (!d) return std::nullopt;
    f.details.push_back(std::move(*d));
  }
  f.trace.assign(ran.begin(), ran.begin() + long(*index + 1));
  out.finding = std::move(f);
  return out;
}

}  // namespace

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

ChildEnd run_in_child(const std::function<int(int fd)>& body, std::string* output) {
  int fds[2];
  if (pipe(fds) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  std::fflush(nullptr);  // or the child would print what the parent buffered again
  const pid_t pid = fork();
  if (pid < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    throw std::system_error(err, std::generic_category(), "fork");
  }
  if (pid == 0) {
    close(fds[0]);
    int code = max_returned;
    try {
      code = body(fds[1]);
    } catch (...) {
      // Not a crash of either side (the Runner catches theirs): the harness failed.
    }
    std::fflush(nullptr);
    _exit(returned_base + (code >= 0 && code <= max_returned ? code : max_returned));
  }
  close(fds[1]);
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output) output->append(buffer, size_t(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ChildEnd end;
  if (WIFEXITED(status) && WEXITSTATUS(status) >= returned_base && WEXITSTATUS(status) <= returned_base + max_returned) {
    end.returned = true;
    end.code = WEXITSTATUS(status) - returned_base;
  } else {
    end.how = describe(status);
  }
  return end;
}

Finding crash_finding(std::span<const ops::Op> ran, const RunnerSite& site, std::string_view how) {
  const RunnerSite::Phase phase = site.phase.load();
  if (ran.empty()) throw std::runtime_error(fmt::format("the runner {} before its first op", how));
  const size_t index = std::min<size_t>(site.op_index.load(), ran.size() - 1);
  const bool model = model_phase(phase);
  Finding f;
  f.op_index = index;
  f.op = ran[index];
  f.kind = model ? "model-crash" : "crash";
  f.details.push_back(fmt::format("the {} {} {}", model ? "model" : "implementation", how, phase_text(phase)));
  f.trace.assign(ran.begin(), ran.begin() + long(index + 1));
  return f;
}

SequenceResult run_sequence_forked(const ops::Limits& limits, std::span<const ops::Op> ops,
                                   const RunnerOptions& options, std::span<ops::Result> results) {
  if (!results.empty() && results.size() < ops.size()) throw std::invalid_argument("run_sequence: results too short");
  Shared<RunnerSite> site;
  Shared<ops::Result> shared_results(results.empty() ? 1 : ops.size());
  RunnerOptions child = options;
  child.site = site.get();
  std::string out;
  const ChildEnd end = run_in_child(
      [&](int fd) {
        std::string sent;
        try {
          sent = encode(run_sequence(limits, ops, child, results.empty() ? std::span<ops::Result>{} : shared_results.span()));
        } catch (const std::invalid_argument& e) {
          sent = encode_error(sent_invalid_argument, e.what());
        } catch (const std::exception& e) {
          sent = encode_error(sent_error, e.what());
        }
        return write_all(fd, sent) ? 0 : 1;
      },
      &out);
  const std::vector<ops::Op> ran = supported_ops(limits, ops);
  if (!results.empty()) std::ranges::copy(shared_results.span().first(ops.size()), results.begin());
  if (end.returned) {
    if (end.code == 0)
      if (auto decoded = decode(out, ran)) return std::move(*decoded);
    throw std::runtime_error("run_sequence_forked: the child ran the ops but could not report what happened");
  }
  SequenceResult crashed;
  crashed.finding = crash_finding(ran, *site, end.how);
  crashed.ops_run = crashed.finding->op_index + 1;
  // ops_skipped: the unsupported ops among those before the crash.
  size_t seen = 0;
  for (const ops::Op& op : ops) {
    if (impl::Kernel::supports(op, limits)) {
      if (seen++ == crashed.finding->op_index) break;
    } else {
      ++crashed.ops_skipped;
    }
  }
  if (options.full_check_every > 1) {
    RunnerOptions every_op = options;
    every_op.full_check_every = 1;
    SequenceResult again = run_sequence_forked(limits, ops, every_op, results);
    if (again.finding) return again;
  }
  return crashed;
}

}  // namespace check
