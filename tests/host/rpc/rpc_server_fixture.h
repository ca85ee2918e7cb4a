// A real RpcServer on a socket in a fresh temp dir, run on its own thread, for the
// transport tests: each fixture adds its methods to methods_ in SetUp and calls start().
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "host/rpc/agent_socket.h"
#include "host/rpc/method_table.h"
#include "host/rpc/rpc_server.h"
#include "tests/support/temp_dir.h"

namespace idvault::testing {

class RpcServerFixture : public ::testing::Test {
 protected:
  // dir_prefix: what the temp dir's name starts with, e.g. "idvault-rpc".
  explicit RpcServerFixture(const std::string& dir_prefix)
      : dir_(dir_prefix), socket_path_(dir_ / "agent" / "agent.sock") {}
  void start(rpc::RpcServerOptions options = {}) {
    options.allowed_uid = ::geteuid();
    server_ =
        std::make_unique<rpc::RpcServer>(rpc::listen_on_path(socket_path_), methods_, options);
    thread_ = std::thread([this] { server_->run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      thread_.join();
      server_.reset();
    }
  }

  TempDir dir_;  // removed with the fixture, after TearDown stopped the server
  std::filesystem::path socket_path_;
  rpc::MethodTable methods_;
  std::unique_ptr<rpc::RpcServer> server_;
  std::thread thread_;
};

}  // namespace idvault::testing
