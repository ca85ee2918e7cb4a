#include "tests/support/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace idvault::testing {
namespace {

constexpr const char* kUser = "idvault";
constexpr const char* kPort = "5432";  // names the socket file only: no TCP

std::string tail_of(const std::filesystem::path& log) {
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() > 4000 ? all.substr(all.size() - 4000) : all;
}

}  // namespace

std::filesystem::path PostgresServer::binaries() {
  const char* configured = std::getenv("IDVAULT_PG_BIN");
  if (configured != nullptr && *configured != '\0') return configured;
  return "/usr/lib/postgresql/15/bin";
}

bool PostgresServer::available() {
  for (const char* tool : {"initdb", "pg_ctl", "postgres", "createdb"}) {
    if (::access((binaries() / tool).c_str(), X_OK) != 0) return false;
  }
  return true;
}

std::string PostgresServer::missing() {
  return "the PostgreSQL server binaries (initdb, pg_ctl, postgres, createdb) are not in " +
         binaries().string() + " (Debian: postgresql; or set IDVAULT_PG_BIN)";
}

PostgresServer::PostgresServer() {
  std::string pattern = "/tmp/idvault-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  folder_ = pattern;
  try {
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      if (nobody == nullptr) throw std::runtime_error("no user nobody to run PostgreSQL as");
      uid_ = nobody->pw_uid;
      gid_ = nobody->pw_gid;
      drop_privileges_ = true;
      if (::chown(folder_.c_str(), uid_, gid_) != 0)
        throw std::runtime_error("cannot give " + folder_.string() + " to nobody");
    }
    ::chmod(folder_.c_str(), 0700);
    run({"initdb", "-D", (folder_ / "data").string(), "-U", kUser, "-A", "trust", "-E", "UTF8",
         "--locale=C", "--no-sync", "--no-instructions"});
    start();
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
    throw;
  }
}

PostgresServer::~PostgresServer() {
  try {
    if (running_) {
      run({"pg_ctl", "-D", (folder_ / "data").string(), "-m", "immediate", "-w", "stop"});
    }
  } catch (...) {  // nothing a destructor can do; the folder goes anyway
  }
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

void PostgresServer::start() {
  run({"pg_ctl", "-D", (folder_ / "data").string(), "-l", (folder_ / "server.log").string(), "-w",
       "-t", "60", "-o",
       "-c listen_addresses='' -k " + folder_.string() + " -p " + kPort +
           " -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
       "start"});
  running_ = true;
}

void PostgresServer::stop() {
  run({"pg_ctl", "-D", (folder_ / "data").string(), "-m", "fast", "-w", "stop"});
  running_ = false;
}

std::string PostgresServer::create_database(const std::string& name) {
  run({"createdb", "-h", folder_.string(), "-p", kPort, "-U", kUser, name});
  return uri(name);
}

std::string PostgresServer::uri(const std::string& database) const {
  return std::string("postgresql://") + kUser + "@/" + database + "?host=" + folder_.string() +
         "&port=" + kPort;
}

void PostgresServer::run(const std::vector<std::string>& argv) const {
  const std::filesystem::path program = binaries() / argv.front();
  const std::filesystem::path log = folder_ / "tools.log";
  // Everything the child needs is built before fork: it only calls what is safe there.
  std::vector<std::string> environment{"LC_ALL=C"};
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view variable(*entry);
    if (variable.rfind("PG", 0) != 0 && variable.rfind("LC_ALL=", 0) != 0)
      environment.emplace_back(variable);
  }
  std::vector<char*> envp;
  for (auto& variable : environment) envp.push_back(variable.data());
  envp.push_back(nullptr);
  std::vector<char*> args{const_cast<char*>(program.c_str())};
  for (std::size_t i = 1; i < argv.size(); ++i) args.push_back(const_cast<char*>(argv[i].c_str()));
  args.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (drop_privileges_) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(gid_) != 0 || ::setuid(uid_) != 0) _exit(126);
    }
    if (::chdir(folder_.c_str()) != 0) _exit(126);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) ::dup2(in, 0);
    ::execve(program.c_str(), args.data(), envp.data());
    _exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv.front() + " failed (status " + std::to_string(status) + "):\n" +
                             tail_of(log) + "\nserver log:\n" + tail_of(folder_ / "server.log"));
  }
}

}  // namespace idvault::testing
