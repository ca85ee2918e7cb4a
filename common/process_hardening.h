// What every idvault process that sees a PIN, a key or a decrypted document does first,
// as ssh-agent does.
#pragma once

namespace idvault {

// No core files (RLIMIT_CORE 0), not dumpable (no ptrace by same-uid processes, no
// /proc/PID/mem reads), and umask 077: everything the process creates (a store and its
// WAL, decrypted files, keys, bundles) is private to its user from the first byte,
// whatever umask it was started with. Best effort: a failing call leaves the rest done.
void harden_process() noexcept;

}  // namespace idvault
