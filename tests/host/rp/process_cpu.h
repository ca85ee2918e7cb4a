// CPU time by process group over a window, from /proc/PID/stat (utime + stime, every
// thread of the process): where a benchmark's CPU went when several processes share the
// machine's cores (the service's workers, PostgreSQL's backends, the benchmark's own
// client threads). Linux only; a process that exits inside the window loses its share.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace idvault::testing {

// Each live process's ticks, parent and command line, at one moment.
struct ProcessSnapshot {
  struct Entry {
    pid_t parent = 0;
    unsigned long long ticks = 0;  // utime + stime, in clock ticks
    std::string cmdline;           // NULs as spaces
  };
  std::map<pid_t, Entry> processes;
};

[[nodiscard]] ProcessSnapshot take_process_snapshot();

// The pids of roots and of every descendant of one, as the snapshot saw them.
[[nodiscard]] std::vector<pid_t> process_tree(const ProcessSnapshot& snapshot,
                                              const std::vector<pid_t>& roots);

// The first process whose command line contains `text` (0 when none).
[[nodiscard]] pid_t find_process(const ProcessSnapshot& snapshot, const std::string& text);

// CPU milliseconds the given processes used between the two snapshots; a process born
// in between counts from zero.
[[nodiscard]] double cpu_ms_between(const ProcessSnapshot& before, const ProcessSnapshot& after,
                                    const std::vector<pid_t>& pids);

}  // namespace idvault::testing
