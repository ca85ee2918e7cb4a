// authorize: show what a service asks for, ask the holder, have the agent build the
// bundle (it asks its own consent prompt too), then save it or deliver it.
#include <iostream>
#include <optional>
#include <set>

#include "common/cli/cli_error.h"
#include "common/cli/command_line.h"
#include "host/cli/agent_client.h"
#include "host/cli/agent_messages.h"
#include "host/cli/bundle_delivery.h"
#include "host/cli/commands.h"
#include "host/cli/local_files.h"
#include "host/cli/terminal_question.h"
#include "vault/model/auth_link.h"
#include "vault/model/errors.h"
#include "vault/signed/share_receipt.h"

namespace idvault::cli {
namespace {

std::string describe_choice(const vault::ScopeChoice& choice) {
  std::string text(vault::to_string(choice.type));
  std::string extras;
  if (choice.selfie) extras += ", selfie";
  if (choice.translation) extras += ", translation";
  if (choice.native_names) extras += ", names in the native language";
  return extras.empty() ? text : text + " (" + extras.substr(2) + ")";
}

// What will go and what is missing, computed as the vault plans a share: the first held
// choice of each one_of.
void print_request(const vault::AuthorizationRequest& request, const std::set<std::string>& held,
                   std::ostream& out) {
  out << "service " << one_line(request.service_id, 80) << " asks for:\n";
  std::vector<std::string> shared, missing;
  for (const vault::ScopeItem& item : request.scope.items) {
    std::string line;
    std::optional<std::string> found;
    for (const auto& choice : item.choices) {
      line += (line.empty() ? "" : " or ") + describe_choice(choice);
      const std::string name(vault::to_string(choice.type));
      if (!found && held.contains(name)) found = name;
    }
    out << "  " << (item.one_of ? "one of: " : "") << line << "\n";
    (found ? shared : missing).push_back(found ? *found : line);
  }
  if (request.callback_url) out << "callback: " << one_line(*request.callback_url, 200) << "\n";
  // The fingerprint the receipt will sign and the agent's prompt shows: compare it with
  // the one the service publishes.
  out << "service key: SHA-256 " << vault::service_key_fingerprint(request.public_key_pem) << "\n";
  auto join = [](const std::vector<std::string>& list) {
    std::string text;
    for (const auto& item : list) text += (text.empty() ? "" : ", ") + item;
    return text;
  };
  out << "from your vault: " << (shared.empty() ? "nothing" : join(shared)) << "\n";
  if (!missing.empty()) out << "not in your vault: " << join(missing) << "\n";
}

// --json: the agent's answer without the bundle itself (service_id, nonce, callback_url,
// offer, bundle_bytes), plus where it went: "out" (the file) and "delivered" {"url",
// "http_status"}.
void print_outcome(nlohmann::json result, const std::optional<std::string>& out,
                   std::optional<long> http_status) {
  if (out) result["out"] = *out;
  if (http_status)
    result["delivered"] = {{"url", result.value("callback_url", std::string())},
                           {"http_status", *http_status}};
  std::cout << result.dump(2) << "\n";
}

// The agent remembers each service's key (trust on first use) and says when a link
// comes with another one; the share went ahead because its prompt said yes.
void warn_if_key_changed(const nlohmann::json& result, const vault::AuthorizationRequest& request) {
  if (result.is_object() && result.value("service_key_history", std::string()) == "changed") {
    std::cerr << "idvault: WARNING: service " << one_line(request.service_id, 80)
              << " used a different key before this share (the agent's prompt said so)\n";
  }
}

}  // namespace

int run_authorize(const Args& args) {
  CommandLine command(
      "idvault authorize REQUEST_URL [--yes] (--out BUNDLE | --deliver) [--json]",
      "Shares documents with the service that made REQUEST_URL (tg://resolve?domain=\n"
      "telegrampassport&..., tg://passport?..., idvault://authorize?...). Shows what is asked\n"
      "and asks before sharing; the agent's own consent prompt still decides. With --json,\n"
      "what is asked goes to stderr and the outcome is one JSON object on stdout.");
  command.argument("REQUEST_URL", true);
  command.options.add_options()("yes,y",
                                "do not ask here (the agent's consent prompt still applies)")(
      "out,o", po::value<std::string>(), "write the bundle JSON to this file (mode 0600)")(
      "deliver", "POST the bundle to the request's callback_url");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const std::string link = (*vm)["REQUEST_URL"].as<std::string>();
  const auto out = optional_value<std::string>(*vm, "out");
  const bool deliver = vm->count("deliver") > 0;
  if (!out && !deliver) throw UsageError("say where the bundle goes: --out BUNDLE or --deliver");

  vault::AuthorizationRequest request;
  try {
    request = vault::parse_authorization_link(link);
  } catch (const vault::FormatError& error) {
    throw UsageError(std::string("bad request link: ") + error.what());
  }
  if (deliver) {
    if (!request.callback_url)
      throw UsageError("the request has no callback_url to deliver to: use --out BUNDLE");
    check_callback_url(*request.callback_url);
  }

  AgentClient agent(agent_socket_path());
  std::set<std::string> held;
  for (const auto& summary : agent.call("element.list"))
    held.insert(summary.value("type", std::string()));
  // With --json stdout carries only the outcome; a person still sees what is asked.
  const bool json = wants_json(*vm);
  std::ostream& human = json ? std::cerr : std::cout;
  print_request(request, held, human);
  human.flush();
  if (!vm->count("yes") &&
      !ask_yes_no("share these with service " + one_line(request.service_id, 80) + "?", "--yes")) {
    throw OperationFailed("not shared: you said no");
  }

  if (out && !deliver && agent.takes_descriptors_for("authorize")) {
    // The agent writes the bundle into the file we opened: its megabytes of base64 need
    // not cross the socket or be parsed and written again here.
    PendingPrivateFile file(*out);
    const int descriptor = file.descriptor();
    nlohmann::json result = agent.call_passing(
        "authorize", {{"link", link}, {"out", {{"attachment", 0}}}}, std::span(&descriptor, 1));
    file.commit();
    warn_if_key_changed(result, request);
    if (json) {
      print_outcome(result, out, std::nullopt);
    } else {
      std::cout << "shared with service " << one_line(request.service_id, 80)
                << ": bundle written to " << *out << "\n";
    }
    return kExitOk;
  }
  nlohmann::json result = agent.call("authorize", {{"link", link}});
  warn_if_key_changed(result, request);
  const std::string bundle = result.at("bundle").dump();
  result.erase("bundle");  // megabytes, and in the file or with the service already
  result["bundle_bytes"] = bundle.size();
  if (out) {
    write_private_file(
        *out, std::span(reinterpret_cast<const std::uint8_t*>(bundle.data()), bundle.size()));
    if (!json) {
      std::cout << "shared with service " << one_line(request.service_id, 80)
                << ": bundle written to " << *out << "\n";
    }
  }
  std::optional<long> delivered;
  if (deliver) {
    delivered = deliver_bundle(*request.callback_url, bundle);
    if (!json) {
      std::cout << "shared with service " << one_line(request.service_id, 80) << ": delivered to "
                << one_line(*request.callback_url, 200) << " (HTTP " << *delivered << ")\n";
    }
  }
  if (json) print_outcome(result, out, delivered);
  return kExitOk;
}

}  // namespace idvault::cli
