// A real RpcServer on a socket in a fresh temp dir, run on its own thread, for the
// transport tests: each fixture adds its methods to methods_ in SetUp and calls start().
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "host/rpc/agent_socket.h"
#include "host/rpc/method_table.h"
#include "host/rpc/rpc_server.h"

namespace idvault::testing {

class RpcServerFixture : public ::testing::Test {
 protected:
  explicit RpcServerFixture(std::string dir_pattern) {
    dir_ = ::mkdtemp(dir_pattern.data());
    socket_path_ = dir_ / "agent" / "agent.sock";
  }
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
    std::filesystem::remove_all(dir_);
  }

  std::filesystem::path dir_;
  std::filesystem::path socket_path_;
  rpc::MethodTable methods_;
  std::unique_ptr<rpc::RpcServer> server_;
  std::thread thread_;
};

}  // namespace idvault::testing
