// A private PostgreSQL server for one test process: initdb into a fresh folder under
// /tmp, owned by an unprivileged user (initdb refuses root: as root the server runs as
// `nobody`), started with its Unix socket in that folder and no TCP at all, stopped and
// removed with the object. Trust authentication is safe there: only the folder's owner
// (and root) can reach the socket.
//
// The binaries come from $IDVAULT_PG_BIN, else Debian's /usr/lib/postgresql/15/bin (not
// on PATH). Without them a test skips (fails under CI):
//   if (!PostgresServer::available()) IDVAULT_SKIP_MISSING_PEER(PostgresServer::missing());
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace idvault::testing {

class PostgresServer {
 public:
  [[nodiscard]] static std::filesystem::path binaries();
  [[nodiscard]] static bool available();
  [[nodiscard]] static std::string missing();  // why available() is false

  PostgresServer();  // initdb and start; throws with the server's log on failure
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A new empty database; returns its postgresql:// URI.
  std::string create_database(const std::string& name);
  // postgresql://USER@/DATABASE?host=SOCKET_DIR&port=PORT
  [[nodiscard]] std::string uri(const std::string& database) const;
  // The server's folder (socket, data/); its postmaster's command line names data/.
  [[nodiscard]] std::string socket_folder() const { return folder_.string(); }

  // Stop (fast: connections are cut) and start again, e.g. to restart under load.
  void stop();
  void start();

 private:
  void run(const std::vector<std::string>& argv) const;  // as the owner; throws on failure

  std::filesystem::path folder_;  // socket, data/, server.log
  unsigned uid_ = 0;
  unsigned gid_ = 0;
  bool drop_privileges_ = false;
  bool running_ = false;
};

}  // namespace idvault::testing
