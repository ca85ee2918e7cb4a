#include "host/rpc/agent_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "host/rpc/peer_credentials.h"

namespace idvault::rpc {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

sockaddr_un address_of(const std::filesystem::path& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string text = path.string();
  if (text.size() >= sizeof(address.sun_path)) {
    throw std::runtime_error("socket path too long (" + std::to_string(text.size()) +
                             " bytes): " + text);
  }
  std::memcpy(address.sun_path, text.c_str(), text.size() + 1);
  return address;
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

void ensure_private_directory(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("cannot create directory", dir);
  struct stat info {};
  if (::lstat(dir.c_str(), &info) != 0) fail("cannot inspect", dir);
  if (!S_ISDIR(info.st_mode)) throw std::runtime_error("not a directory: " + dir.string());
  if (info.st_uid != ::geteuid()) {
    throw std::runtime_error("directory " + dir.string() +
                             " belongs to another user; refusing to use it");
  }
  // Closing it now would not take back what another user already put in it (a socket
  // a client might reach before ours, a link): made by someone else or left open, it
  // is not ours to trust.
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw std::runtime_error("directory " + dir.string() +
                             " is writable by group or others (mode " + octal_mode(info.st_mode) +
                             "); refusing to use it: remove it or chmod 700 it");
  }
  if ((info.st_mode & 0077) != 0 && ::chmod(dir.c_str(), 0700) != 0) fail("cannot restrict", dir);
}

bool something_answers(const sockaddr_un& address) {
  int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return false;
  bool answered =
      ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(probe);
  return answered;
}

}  // namespace

std::filesystem::path default_socket_path() {
  if (const char* explicit_path = std::getenv("IDVAULT_SOCK"); explicit_path && *explicit_path) {
    return explicit_path;
  }
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); runtime && *runtime) {
    return std::filesystem::path(runtime) / "idvault" / "agent.sock";
  }
  return std::filesystem::path("/tmp") / ("idvault-" + std::to_string(::geteuid())) / "agent.sock";
}

void check_socket_folder(const std::filesystem::path& socket_path) {
  const std::filesystem::path dir =
      socket_path.parent_path().empty() ? "." : socket_path.parent_path();
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) fail("cannot inspect the agent socket's folder", dir);
  if (!S_ISDIR(info.st_mode))
    throw std::runtime_error("the agent socket's folder is not a directory: " + dir.string());
  if (info.st_uid != ::geteuid() && info.st_uid != 0) {
    throw std::runtime_error("refusing the agent socket in " + dir.string() +
                             ": the folder belongs to uid " + std::to_string(info.st_uid) +
                             ", not to you");
  }
  if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    throw std::runtime_error("refusing the agent socket in " + dir.string() +
                             ": the folder is writable by group or others (mode " +
                             octal_mode(info.st_mode) + ")");
  }
}

void check_agent_peer(int socket_fd, const std::filesystem::path& socket_path) {
  const auto peer = peer_identity(socket_fd);
  if (!peer) throw std::runtime_error("cannot tell who runs the agent at " + socket_path.string());
  if (peer->uid != ::geteuid() && peer->uid != 0) {
    throw std::runtime_error("refusing the agent at " + socket_path.string() + ": it runs as uid " +
                             std::to_string(peer->uid) + ", not as you");
  }
}

int listen_on_path(const std::filesystem::path& path) {
  const sockaddr_un address = address_of(path);
  ensure_private_directory(path.parent_path());
  if (something_answers(address)) {
    throw std::runtime_error("another agent is already listening on " + path.string());
  }
  ::unlink(path.c_str());  // a stale socket from an agent that died

  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("cannot create socket for", path);
  // umask closes the window between bind() and chmod() in which the socket is wider open.
  mode_t previous = ::umask(0177);
  int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  ::umask(previous);
  // The largest backlog the kernel allows: the one loop thread accepts between serving
  // busy clients, and a client connecting without blocking gets EAGAIN once it is full.
  if (bound != 0 || ::chmod(path.c_str(), 0600) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot listen on", path);
  }
  return fd;
}

std::optional<int> socket_from_systemd() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  if (pid == nullptr || fds == nullptr) return std::nullopt;
  if (std::strtol(pid, nullptr, 10) != ::getpid() || std::strtol(fds, nullptr, 10) < 1)
    return std::nullopt;
  constexpr int kFirstPassedFd = 3;  // SD_LISTEN_FDS_START
  // As sd_is_socket() checks: serving an fd that is closed, a file or an unbound socket
  // would leave an agent that looks alive and answers no one.
  struct stat info {};
  int listening = 0;
  socklen_t size = sizeof(listening);
  if (::fstat(kFirstPassedFd, &info) != 0 || !S_ISSOCK(info.st_mode) ||
      ::getsockopt(kFirstPassedFd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 ||
      listening == 0) {
    throw std::runtime_error(
        "LISTEN_FDS says systemd passed a socket, but fd 3 is not a listening socket");
  }
  ::fcntl(kFirstPassedFd, F_SETFD, FD_CLOEXEC);
  // Children must not think the socket is theirs.
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  return kFirstPassedFd;
}

}  // namespace idvault::rpc
