// idvault-rp forget: a result removed at once, before --keep-days runs out (the holder
// asked, or the service has what it needs). Works on the store serve uses, SQLite file or
// PostgreSQL, while serve runs.
#include <iostream>

#include "common/cli/command_line.h"
#include "host/rp/commands/command_support.h"
#include "host/rp/commands/rp_commands.h"
#include "host/rp/service/request_store.h"

namespace idvault::rp {

namespace po = boost::program_options;

int run_forget(const std::vector<std::string>& args) {
  po::options_description options("idvault-rp forget");
  std::string db;
  std::string nonce;
  options.add_options()("db", po::value(&db)->required(),
                        "the store serve runs on: a SQLite file or postgresql://...")(
      "nonce", po::value(&nonce)->required(), "the request whose result goes");
  po::positional_options_description positional;
  positional.add("nonce", 1);
  auto vm =
      cli::parse_command_line(args, options, "usage: idvault-rp forget --db DB NONCE", &positional);
  if (!vm) return 0;
  if (nonce.empty()) throw cli::UsageError("the nonce must not be empty");
  const bool held = open_request_store(db)->forget(nonce, unix_now());
  std::cout << (held ? "idvault-rp forget: removed the result of "
                     : "idvault-rp forget: no result was held for ")
            << nonce << "\n";
  return 0;
}

}  // namespace idvault::rp
