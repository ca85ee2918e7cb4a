#include "tests/host/rp/process_cpu.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace idvault::testing {

namespace {

// utime and stime are fields 14 and 15 of /proc/PID/stat; the command name (field 2) may
// hold spaces and parentheses, so counting starts after its last ')'.
bool read_stat(const std::filesystem::path& dir, ProcessSnapshot::Entry& entry) {
  std::ifstream file(dir / "stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(text.substr(close + 2));
  std::string skip;
  unsigned long long utime = 0;
  unsigned long long stime = 0;
  fields >> skip >> entry.parent;                // fields 3 (state) and 4 (ppid)
  for (int i = 5; i <= 13; ++i) fields >> skip;  // pgrp .. cmajflt
  fields >> utime >> stime;
  if (!fields) return false;
  entry.ticks = utime + stime;
  std::ifstream cmdline(dir / "cmdline");
  entry.cmdline.assign(std::istreambuf_iterator<char>(cmdline), std::istreambuf_iterator<char>());
  std::replace(entry.cmdline.begin(), entry.cmdline.end(), '\0', ' ');
  return true;
}

}  // namespace

ProcessSnapshot take_process_snapshot() {
  ProcessSnapshot snapshot;
  std::error_code error;
  for (const auto& dir : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = dir.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    ProcessSnapshot::Entry entry;
    if (read_stat(dir.path(), entry)) snapshot.processes[std::stoi(name)] = std::move(entry);
  }
  return snapshot;
}

std::vector<pid_t> process_tree(const ProcessSnapshot& snapshot, const std::vector<pid_t>& roots) {
  std::set<pid_t> tree(roots.begin(), roots.end());
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, entry] : snapshot.processes) {
      if (tree.count(entry.parent) != 0 && tree.insert(pid).second) grew = true;
    }
  }
  return {tree.begin(), tree.end()};
}

pid_t find_process(const ProcessSnapshot& snapshot, const std::string& text) {
  for (const auto& [pid, entry] : snapshot.processes) {
    if (entry.cmdline.find(text) != std::string::npos) return pid;
  }
  return 0;
}

double cpu_ms_between(const ProcessSnapshot& before, const ProcessSnapshot& after,
                      const std::vector<pid_t>& pids) {
  unsigned long long ticks = 0;
  for (const pid_t pid : pids) {
    const auto now = after.processes.find(pid);
    if (now == after.processes.end()) continue;
    const auto then = before.processes.find(pid);
    const unsigned long long start = then == before.processes.end() ? 0 : then->second.ticks;
    if (now->second.ticks > start) ticks += now->second.ticks - start;
  }
  return static_cast<double>(ticks) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace idvault::testing
