#include "host/rpc/method_table.h"

namespace idvault::rpc {

SecretBytes CallContext::take_attachment(const nlohmann::json& index, const std::string& where) const {
  if (!index.is_number_unsigned()) {
    throw RpcError(RpcCode::invalid_params, where + ": attachment must be a non-negative integer index");
  }
  const auto at = index.get<std::size_t>();
  if (at >= attachment_count()) {
    throw RpcError(RpcCode::invalid_params, where + ": attachment " + std::to_string(at) +
                                                " was not announced (the request has " +
                                                std::to_string(attachment_count()) + ")");
  }
  taken_.resize(attachments_->size(), false);
  if (taken_[at]) throw RpcError(RpcCode::invalid_params, where + ": attachment " + std::to_string(at) + " used twice");
  taken_[at] = true;
  return std::move((*attachments_)[at]);
}

void CallContext::require_all_attachments_taken() const {
  for (std::size_t i = 0; i < attachment_count(); ++i) {
    if (i >= taken_.size() || !taken_[i]) {
      throw RpcError(RpcCode::invalid_params,
                     "attachments: attachment " + std::to_string(i) + " was sent but no parameter refers to it");
    }
  }
}

}  // namespace idvault::rpc
