// put, list, get, rm: the holder's documents.
#include <unistd.h>

#include <cstdint>
#include <iostream>
#include <optional>

#include "common/base64.h"
#include "common/cli/cli_error.h"
#include "common/cli/command_line.h"
#include "common/json_fields.h"
#include "common/utc_time.h"
#include "host/cli/agent_client.h"
#include "host/cli/agent_messages.h"
#include "host/cli/commands.h"
#include "host/cli/element_args.h"
#include "host/cli/local_files.h"
#include "host/cli/progress_bar.h"
#include "host/rpc/attachment_announcement.h"
#include "vault/model/element_data.h"
#include "vault/model/errors.h"

namespace idvault::cli {
namespace {

using vault::ElementType;
using vault::Slot;

struct FileOption {
  const char* option;  // the flag
  const char* member;  // the socket API's member, and the base of the saved file's name
  Slot vault::ElementRules::*slot;
  bool many;
};

constexpr FileOption kFileOptions[] = {
    {"front-side", "front_side", &vault::ElementRules::front_side, false},
    {"reverse-side", "reverse_side", &vault::ElementRules::reverse_side, false},
    {"selfie", "selfie", &vault::ElementRules::selfie, false},
    {"file", "files", &vault::ElementRules::files, true},
    {"translation", "translation", &vault::ElementRules::translation, true},
};

std::string type_name(ElementType type) {
  return std::string(vault::to_string(type));
}

// --data-file F or --field K=V..., checked here as the vault will check it, so a typo is
// a usage error naming the field before anything is sent.
nlohmann::json data_from_options(ElementType type, const po::variables_map& vm) {
  const bool has_file = vm.count("data-file") > 0;
  const bool has_fields = vm.count("field") > 0;
  if (has_file && has_fields)
    throw UsageError("give the data either as --data-file F or as --field K=V, not both");
  if (!vault::rules_for(type).data) {
    if (has_file || has_fields)
      throw UsageError(type_name(type) + " has no data fields (--data-file/--field do not apply)");
    return nullptr;
  }
  if (!has_file && !has_fields)
    throw UsageError(type_name(type) + " needs its data: --data-file F or --field K=V ...");
  try {
    if (has_file) {
      const std::string path = vm["data-file"].as<std::string>();
      nlohmann::json data = json_fields::parse(read_text(path), path);
      if (!data.is_object())
        throw UsageError(path + ": expected a JSON object of " + type_name(type) + " fields");
      (void)vault::parse_element_data(type, data, vault::Strictness::own_output);
      return data;
    }
    vault::FieldValues fields;
    for (const auto& assignment : vm["field"].as<std::vector<std::string>>()) {
      fields.push_back(vault::parse_field_assignment(assignment));
    }
    nlohmann::ordered_json ordered =
        vault::to_json(type, vault::element_data_from_fields(type, fields));
    return nlohmann::json::parse(ordered.dump());
  } catch (const vault::FormatError& error) {
    throw UsageError(error.what());
  }
}

// put's data file was --json F before every command's --json came to mean "print JSON".
// F is still taken under the old name (with a warning); a bare --json is answered here,
// since put prints nothing for programs: its exit status is its result.
Args with_data_file_renamed(const Args& args) {
  Args renamed;
  bool warned = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool bare = arg == "--json";
    if (!bare && arg.rfind("--json=", 0) != 0) {
      renamed.push_back(arg);
      continue;
    }
    if (bare && (i + 1 == args.size() || args[i + 1].rfind("--", 0) == 0)) {
      throw UsageError(
          "put prints no JSON (its exit status is its result); its data comes from "
          "--data-file F (--json F is the old name)");
    }
    if (!warned) std::cerr << "idvault: warning: put --json F is deprecated, use --data-file F\n";
    warned = true;
    renamed.push_back("--data-file" + arg.substr(6));  // "--json=F" -> "--data-file=F"
  }
  return renamed;
}

std::string describe_summary(const nlohmann::json& summary) {
  std::string parts;
  auto add = [&](const std::string& part) { parts += (parts.empty() ? "" : ", ") + part; };
  if (summary.value("data", false)) add("data");
  if (summary.contains("value")) add(summary["value"].get<std::string>());
  for (const char* slot : {"front_side", "reverse_side", "selfie"}) {
    if (summary.value(slot, false)) add(slot);
  }
  for (const char* list : {"files", "translation"}) {
    if (std::size_t count = summary.value(list, std::size_t{0}); count > 0)
      add(std::to_string(count) + " " + list);
  }
  return parts;
}

void print_errors(const nlohmann::json& errors, std::ostream& out, const char* indent) {
  if (!errors.is_array()) return;
  for (const auto& error : errors) {
    std::string where = error.value("source", std::string("element"));
    if (error.contains("field_name")) where += " " + error.value("field_name", std::string());
    out << indent << "service reported (" << one_line(where, 60)
        << "): " << one_line(error.value("message", std::string())) << "\n";
  }
}

}  // namespace

int run_put(const Args& args) {
  CommandLine command(
      "idvault put TYPE (--data-file F | --field K=V ...) [--front-side F] [--reverse-side F]\n"
      "                   [--selfie F] [--file F]... [--translation F]... [--value V]",
      "Stores an element, replacing any element of the same TYPE. Data fields are checked as\n"
      "Telegram checks them (dates DD.MM.YYYY, gender male/female, ISO 3166-1 country codes).\n"
      "phone_number and email take --value instead of data. --json F is the old name of\n"
      "--data-file F (deprecated); put prints no JSON: its exit status is its result.");
  command.argument("TYPE", true);
  command.options.add_options()("data-file", po::value<std::string>(),
                                "file with the data as a JSON object")(
      "field", po::value<std::vector<std::string>>(), "one data field, KEY=VALUE (repeatable)")(
      "front-side", po::value<std::string>(), "scan of the front side")(
      "reverse-side", po::value<std::string>(), "scan of the reverse side")(
      "selfie", po::value<std::string>(), "selfie holding the document")(
      "file", po::value<std::vector<std::string>>(),
      "a page of a proof-of-address document (repeatable)")(
      "translation", po::value<std::vector<std::string>>(), "a page of a translation (repeatable)")(
      "value", po::value<std::string>(), "the phone number or e-mail address")(
      "progress",
      "show a progress bar on stderr even when it is not a terminal (on a terminal it "
      "shows for scans of 1 MiB and more)");
  auto vm = command.parse(with_data_file_renamed(args));
  if (!vm) return kExitOk;
  const ElementType type = element_type_argument((*vm)["TYPE"].as<std::string>());
  const vault::ElementRules& rules = vault::rules_for(type);

  nlohmann::json data = data_from_options(type, *vm);
  if (rules.plain != (vm->count("value") > 0)) {
    throw UsageError(rules.plain ? type_name(type) + " needs --value"
                                 : "--value is only for phone_number and email");
  }

  // A put's files travel with one message (as descriptors, at most SCM_MAX_FD of them):
  // say so here rather than have the socket refuse them half way.
  std::size_t file_count = 0;
  for (const FileOption& option : kFileOptions) {
    if (vm->count(option.option) == 0) continue;
    file_count += option.many ? (*vm)[option.option].as<std::vector<std::string>>().size() : 1;
  }
  if (file_count > rpc::kMaxDescriptors) {
    throw UsageError("one put takes at most " + std::to_string(rpc::kMaxDescriptors) +
                     " files (scans, files and translations together); this one has " +
                     std::to_string(file_count));
  }

  AgentClient agent(agent_socket_path());
  SecretRequest request("element.put", agent.next_id());
  request.use_attachments(agent.offers_attachments());
  // An agent that reads passed files gets descriptors: the scans' bytes never pass
  // through this process or the socket.
  const bool pass_files = agent.offers_descriptors();
  std::vector<std::vector<SecretBytes>> scans;  // borrowed by the request until it is sent
  std::vector<OpenScan> opened;                 // the same, when passed (open until sent)
  const bool forced_progress = vm->count("progress") > 0;
  const bool terminal = ::isatty(STDERR_FILENO) == 1;
  if (forced_progress || terminal) request.add_plain("progress", true);
  std::uint64_t scan_bytes = 0;
  request.add_plain("type", type_name(type));
  if (!data.is_null()) request.add_plain("data", data);
  if (rules.plain) request.add_plain("value", (*vm)["value"].as<std::string>());
  std::string stored = data.is_null() ? "" : ": data";
  for (const FileOption& option : kFileOptions) {
    const Slot slot = rules.*option.slot;
    const bool given = vm->count(option.option) > 0;
    if (given && slot == Slot::forbidden)
      throw UsageError(type_name(type) + " takes no --" + option.option);
    if (!given && slot == Slot::required)
      throw UsageError(type_name(type) + " needs --" + option.option);
    if (!given) continue;
    const auto paths = option.many
                           ? (*vm)[option.option].as<std::vector<std::string>>()
                           : std::vector<std::string>{(*vm)[option.option].as<std::string>()};
    if (pass_files) {
      std::vector<SecretRequest::OpenFileRef> refs;
      for (const auto& path : paths) {
        OpenScan& scan = opened.emplace_back(open_scan(path));
        refs.push_back({scan.fd.get(), scan.size});
        scan_bytes += scan.size;
      }
      if (option.many) {
        request.add_passed_file_list(option.member, refs);
      } else {
        request.add_passed_file(option.member, refs.front());
      }
    } else {
      std::vector<SecretBytes>& files = scans.emplace_back();
      for (const auto& path : paths) scan_bytes += files.emplace_back(read_scan(path)).size();
      if (option.many) {
        request.add_file_list(option.member, files);
      } else {
        request.add_file(option.member, files.front());
      }
    }
    stored += (stored.empty() ? ": " : ", ") +
              (option.many ? std::to_string(paths.size()) + " " : std::string()) + option.member;
  }
  std::optional<ProgressBar> bar;
  if (forced_progress || (terminal && scan_bytes >= (1u << 20)))
    bar.emplace(std::cerr, "storing", terminal);
  (void)agent.call(request, [&bar](const nlohmann::json& progress) {
    if (bar)
      bar->update(progress.value("done", std::uint64_t{0}),
                  progress.value("total", std::uint64_t{0}));
  });
  bar.reset();  // ends the bar's line before the summary
  std::cout << "stored " << type_name(type) << stored << "\n";
  return kExitOk;
}

int run_list(const Args& args) {
  CommandLine command(
      "idvault list [--json]",
      "Lists the elements in the vault (no contents), with any errors services reported.");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  AgentClient agent(agent_socket_path());
  nlohmann::json list = agent.call("element.list");
  if (wants_json(*vm)) {
    std::cout << list.dump(2) << "\n";
    return kExitOk;
  }
  if (list.empty()) std::cout << "the vault is empty\n";
  for (const auto& summary : list) {
    std::string name = summary.value("type", std::string());
    name.resize(std::max<std::size_t>(name.size(), 24), ' ');
    std::cout << name << " " << utc_date_minutes(summary.value("updated_at", std::int64_t{0}))
              << "  " << describe_summary(summary) << "\n";
    print_errors(summary.value("errors", nlohmann::json::array()), std::cout, "    ");
    for (const auto& conflict : summary.value("conflicts", nlohmann::json::array())) {
      const std::string field = conflict.value("field", std::string());
      std::cout << "    conflict: " << field << ": here " << conflict["local"].dump()
                << ", other device " << conflict["remote"].dump() << " ('idvault resolve "
                << summary.value("type", std::string()) << " --field " << field
                << " --take local|remote')\n";
    }
  }
  return kExitOk;
}

int run_get(const Args& args) {
  CommandLine command(
      "idvault get TYPE [--files-dir D] [--json]",
      "Prints an element's data as JSON (or the phone number / e-mail address). With\n"
      "--files-dir, writes its scans there (mode 0600): front_side.jpg, reverse_side.jpg,\n"
      "selfie.jpg, files-0.jpg..., translation-0.jpg... With --json, prints one object:\n"
      "type, data or value, errors, scans (the names above) and files_dir.");
  command.argument("TYPE", true);
  command.options.add_options()("files-dir", po::value<std::string>(),
                                "directory to write the scans to");
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const ElementType type = element_type_argument((*vm)["TYPE"].as<std::string>());
  const auto files_dir = optional_value<std::string>(*vm, "files-dir");
  if (files_dir) make_private_directory(*files_dir);

  AgentClient agent(agent_socket_path());
  SecretBytes line = agent.call_raw("element.get", {{"type", type_name(type)}});
  nlohmann::json answer = nlohmann::json::parse(line.reveal_text(), nullptr, false);
  line.clear();
  // The answer holds the document in clear: its strings are wiped however we leave.
  struct Wiper {
    nlohmann::json& json;
    ~Wiper() { json_fields::wipe_strings(json); }
  } wiper{answer};
  (void)result_of(answer);  // throws the agent's error, if that is what came back
  nlohmann::json& element = answer["result"];

  std::size_t written = 0;
  nlohmann::json scans = nlohmann::json::array();
  auto save = [&](const nlohmann::json& base64, const std::string& name) {
    scans.push_back(name);
    if (!files_dir) return;
    SecretBytes bytes = base64_decode_secret(base64.get_ref<const std::string&>(), name);
    write_private_file(std::filesystem::path(*files_dir) / name, bytes.reveal());
    ++written;
  };
  for (const char* slot : {"front_side", "reverse_side", "selfie"}) {
    if (element.contains(slot)) save(element[slot], std::string(slot) + ".jpg");
  }
  for (const char* list : {"files", "translation"}) {
    if (!element.contains(list)) continue;
    for (std::size_t i = 0; i < element[list].size(); ++i) {
      save(element[list][i], std::string(list) + "-" + std::to_string(i) + ".jpg");
    }
  }
  if (wants_json(*vm)) {
    // The document leaves through stdout, as without --json; this copy is wiped too.
    nlohmann::json out = {{"type", type_name(type)}};
    if (element.contains("data")) out["data"] = element["data"];
    if (element.contains("value")) out["value"] = element["value"];
    out["errors"] = element.value("errors", nlohmann::json::array());
    out["scans"] = std::move(scans);
    if (files_dir) out["files_dir"] = *files_dir;
    Wiper out_wiper{out};
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  if (element.contains("data")) std::cout << element["data"].dump(2) << "\n";
  if (element.contains("value")) std::cout << element["value"].get<std::string>() << "\n";
  if (files_dir) std::cerr << "wrote " << written << " file(s) to " << *files_dir << "\n";
  print_errors(element.value("errors", nlohmann::json::array()), std::cerr, "");
  return kExitOk;
}

int run_rm(const Args& args) {
  CommandLine command("idvault rm TYPE [--json]",
                      "Deletes an element and its scans from the vault.");
  command.argument("TYPE", true);
  add_json_option(command);
  auto vm = command.parse(args);
  if (!vm) return kExitOk;
  const ElementType type = element_type_argument((*vm)["TYPE"].as<std::string>());
  AgentClient agent(agent_socket_path());
  nlohmann::json result = agent.call("element.delete", {{"type", type_name(type)}});
  if (wants_json(*vm)) {
    std::cout << result.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "removed " << type_name(type) << "\n";
  return kExitOk;
}

}  // namespace idvault::cli
