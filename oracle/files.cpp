#include "oracle/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "oracle/processes.hpp"
#include "oracle/region.hpp"

namespace oracle {
namespace {

void write_whole_page(int fd, uint64_t pgoff, uint64_t value) {
  char page[page_size] = {};
  std::memcpy(page, &value, sizeof value);
  if (pwrite(fd, page, sizeof page, off_t(pgoff * page_size)) != off_t(sizeof page))
    throw OracleError(fmt::format("writing a file page: {}", std::strerror(errno)));
}

}  // namespace

std::string files_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) return tmp;
  return "/var/tmp";
}

Files::Files(const ops::Limits& limits, const std::string& dir)
    : max_bytes_(limits.max_file_pages * page_size) {
  std::string templ = dir + "/rmapcheck-oracle-XXXXXX";
  if (!mkdtemp(templ.data())) throw OracleError(fmt::format("mkdtemp in {}: {}", dir, std::strerror(errno)));
  for (unsigned f = 0; f < limits.files; ++f) {
    const std::string path = fmt::format("{}/file{}", templ, f);
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) unlink(path.c_str());
    if (fd < 0) {
      rmdir(templ.c_str());
      throw OracleError(fmt::format("creating {}: {}", path, std::strerror(errno)));
    }
    fds_.push_back(fd);
  }
  rmdir(templ.c_str());
  for (unsigned f = 0; f < fds_.size(); ++f) {
    for (uint64_t p = 0; p < limits.initial_file_pages; ++p) write_whole_page(fds_[f], p, ops::file_initial_value(f, p));
    fdatasync(fds_[f]);
    // Random access: a read brings in just what it asks for, in small folios, instead
    // of ramping readahead up to large ones (the model has small page-cache folios).
    posix_fadvise(fds_[f], 0, 0, POSIX_FADV_RANDOM);
    struct stat st {};
    fstat(fds_[f], &st);
    ids_.emplace_back(st.st_dev, st.st_ino);
  }
}

Files::~Files() {
  for (int fd : fds_) close(fd);
}

std::optional<unsigned> Files::file_of(dev_t dev, ino_t ino) const {
  for (unsigned f = 0; f < ids_.size(); ++f)
    if (ids_[f] == std::make_pair(dev, ino)) return f;
  return std::nullopt;
}

template <class Call>
int Files::with_size_limit(Call call) const {
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit limit = old;
  limit.rlim_cur = std::min<rlim_t>(old.rlim_max, max_bytes_);
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGXFSZ, &ignore, &saved);
  setrlimit(RLIMIT_FSIZE, &limit);
  int err = call() < 0 ? errno : 0;
  setrlimit(RLIMIT_FSIZE, &old);
  sigaction(SIGXFSZ, &saved, nullptr);
  return err;
}

int Files::write_page(unsigned f, uint64_t pgoff, uint64_t value) const {
  char page[page_size] = {};
  std::memcpy(page, &value, sizeof value);
  const int file = fd(f);
  // Past the limit the offset is the limit itself: EFBIG without overflowing.
  const off_t offset = pgoff >= max_bytes_ / page_size ? off_t(max_bytes_) : off_t(pgoff * page_size);
  return with_size_limit([&] { return pwrite(file, page, sizeof page, offset); });
}

int Files::truncate(unsigned f, uint64_t pages) const {
  const int file = fd(f);
  const off_t length = pages > max_bytes_ / page_size ? off_t(max_bytes_ + page_size) : off_t(pages * page_size);
  return with_size_limit([&] { return ftruncate(file, length); });
}

void Files::fill_page_cache() const {
  char buf[16 * page_size];
  for (int fd : fds_) {
    off_t at = 0;
    ssize_t n;
    while ((n = pread(fd, buf, sizeof buf, at)) > 0) at += n;
  }
}

}  // namespace oracle
