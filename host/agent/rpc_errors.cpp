#include "host/agent/rpc_errors.h"

#include "pkcs11/error.h"
#include "vault/model/errors.h"
#include "vault/store/store_error.h"

namespace idvault::agent {

using rpc::RpcCode;
using rpc::RpcError;

void rethrow_as_rpc_error() {
  try {
    throw;
  } catch (const RpcError&) {
    throw;
  } catch (const p11::PinIncorrect& error) {
    nlohmann::json data = {{"token", error.token()}};
    std::string message = "wrong PIN";
    if (error.tries_left()) {
      data["tries_left"] = *error.tries_left();
      message += ", " + std::to_string(*error.tries_left()) +
                 (*error.tries_left() == 1 ? " try left" : " tries left");
    } else if (error.count_low()) {
      data["count_low"] = true;
      message += ", few tries left";
    }
    if (error.resend_refused()) {
      data["resend_refused"] = true;
      message = "this PIN was already rejected by the token; it is not sent again";
    }
    throw RpcError(RpcCode::wrong_pin, message, data);
  } catch (const p11::PinLocked& error) {
    throw RpcError(RpcCode::pin_locked,
                   "PIN locked: the token refuses further tries (unblock it with the PUK)",
                   {{"token", error.token()}});
  } catch (const p11::FinalTryRefused& error) {
    throw RpcError(
        RpcCode::wrong_pin,
        "one PIN try left: the agent will only spend it when you confirm (allow_final_try)",
        {{"token", error.token()}, {"tries_left", 1}, {"final_try", true}});
  } catch (const p11::TokenGone& error) {
    throw RpcError(RpcCode::token_not_present,
                   "token removed: the vault is locked until it is back and unlocked",
                   {{"token", error.token()}});
  } catch (const p11::TokenNotFound& error) {
    throw RpcError(RpcCode::token_not_present, std::string("token not present: ") + error.what());
  } catch (const p11::AmbiguousToken& error) {
    throw RpcError(RpcCode::bad_input, error.what(), {{"candidates", error.candidates()}});
  } catch (const p11::Pkcs11Error& error) {
    throw RpcError(RpcCode::token_error, error.what(), {{"ckr", error.rv_name()}});
  } catch (const vault::FormatError& error) {
    throw RpcError(RpcCode::bad_input, error.what(), {{"where", error.where()}});
  } catch (const vault::DecryptError&) {
    throw RpcError(RpcCode::token_error,
                   "stored data could not be decrypted with this token's keys");
  } catch (const vault::StoreError& error) {
    if (error.kind() == vault::StoreError::Kind::disk_full) {
      throw RpcError(RpcCode::internal_error, "the disk is full: nothing was changed");
    }
    throw RpcError(RpcCode::internal_error, std::string("vault store: ") + error.what());
  } catch (const nlohmann::json::exception&) {
    throw RpcError(RpcCode::invalid_params, "invalid params: wrong type or missing member");
  }
}

}  // namespace idvault::agent
