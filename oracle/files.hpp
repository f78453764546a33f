#pragma once
// The trace's files as real files: `files` of them, each `initial_file_pages` long,
// page p of file f holding file_initial_value(f, p) in its first 8 bytes. They are
// made in a private directory and unlinked as soon as they are open, so no run leaves
// one behind; the descriptors are all the oracle needs.
//
// Each page is written on its own (so the page cache holds small folios, as the model
// has them) and synced. The page cache is kept full (fill_page_cache() after every op):
// a fault does not wait for a neighbour's I/O, so what fault-around maps would depend
// on the disk's speed; with every page cached it does not (file_pages_cached).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/limits.hpp"
#include "ops/types.hpp"

namespace oracle {

class Files {
 public:
  Files(const ops::Limits& limits, const std::string& dir);
  ~Files();
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;

  // The descriptor of file `f`, or -1 for a file that does not exist (EBADF).
  int fd(unsigned f) const { return f < fds_.size() ? fds_[f] : -1; }
  const std::vector<int>& fds() const { return fds_; }
  // Which file a mapping's (device, inode) is, if one of ours.
  std::optional<unsigned> file_of(dev_t dev, ino_t ino) const;

  // write(2) of one page holding `value`; ftruncate(2) to `pages`. Return errno or 0.
  // The file size limit is RLIMIT_FSIZE, set just around the call, so EFBIG is the
  // kernel's own answer.
  int write_page(unsigned f, uint64_t pgoff, uint64_t value) const;
  int truncate(unsigned f, uint64_t pages) const;

  // Reads every page of every file, so that all are in the page cache (reclaim and
  // truncation take pages out; a hole read in is a page of zeros).
  void fill_page_cache() const;

 private:
  template <class Call>
  int with_size_limit(Call call) const;

  uint64_t max_bytes_;
  std::vector<int> fds_;
  std::vector<std::pair<dev_t, ino_t>> ids_;
};

// The directory files go in: `dir` if given, else $TMPDIR, else /var/tmp.
std::string files_dir(const std::string& dir);

}  // namespace oracle
