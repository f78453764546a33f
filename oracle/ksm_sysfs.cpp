#include "oracle/ksm_sysfs.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "oracle/cleanup.hpp"
#include "oracle/processes.hpp"

namespace oracle {
namespace {

const std::string ksm_dir = "/sys/kernel/mm/ksm/";

std::string read_setting(const std::string& name) {
  std::ifstream in(ksm_dir + name);
  std::string v;
  in >> v;
  return v;
}

void write_setting(const std::string& name, const std::string& value) {
  std::ofstream out(ksm_dir + name);
  out << value << '\n';
  out.flush();
  if (!out) throw OracleError(fmt::format("cannot write {}{}", ksm_dir, name));
}

uint64_t number(const std::string& name) { return std::strtoull(read_setting(name).c_str(), nullptr, 10); }

}  // namespace

ops::Result run_ksm() {
  const std::string saved[][2] = {{"pages_to_scan", read_setting("pages_to_scan")},
                                  {"sleep_millisecs", read_setting("sleep_millisecs")},
                                  {"run", read_setting("run")}};
  for (const auto& [name, value] : saved) register_restore((ksm_dir + name).c_str(), value.c_str());
  auto restore = [&] {
    for (const auto& [name, value] : saved) write_setting(name, value);
    unregister_restores();
  };
  try {
    write_setting("pages_to_scan", "100000");
    write_setting("sleep_millisecs", "0");
    write_setting("run", "1");
    // A page merges only once its checksum held over a whole scan, so the fixpoint is
    // two full scans after the last change.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    uint64_t last_change_scan = number("full_scans");
    uint64_t shared = number("pages_shared"), sharing = number("pages_sharing");
    while (number("full_scans") < last_change_scan + 3) {
      if (std::chrono::steady_clock::now() > deadline) throw OracleError("ksmd did not settle within 20 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const uint64_t now_shared = number("pages_shared"), now_sharing = number("pages_sharing");
      if (now_shared != shared || now_sharing != sharing) {
        shared = now_shared;
        sharing = now_sharing;
        last_change_scan = number("full_scans");
      }
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return ops::Result::ok();
}

}  // namespace oracle
