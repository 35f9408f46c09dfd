// Renderings of policy decisions and of the approved-model registry, shared by
// `pull`, `policy explain`, `approve` and `approvals`: human text, and the
// JSON objects embedded in their documents (docs/json-schemas.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cache/approval.hpp"
#include "policies/engine.hpp"

namespace hfaudit::report {

// Every rule with its outcome, evidence and fix (`policy explain`).
// `policy_origin` says where the policy came from ("built-in", "FILE from --policy").
std::string render_decision_text(const policies::Decision& decision,
                                 const std::string& policy_origin);

// The verdict and the rules that warned, blocked or were waived (`pull`).
std::string render_decision_summary(const policies::Decision& decision);

// One approval as JSON: who, when, why, the policy, the files with their scan
// verdicts, and, when `check` is given, whether it still holds.
nlohmann::json approval_json(const cache::ApprovalRecord& approval,
                             const cache::ApprovalCheck* check = nullptr);

// `hfaudit approvals`: the hfaudit.approvals/1 document and the human listing.
std::string render_approvals_json(const std::vector<cache::CheckedApproval>& approvals);
std::string render_approvals_text(const std::vector<cache::CheckedApproval>& approvals,
                                  bool verbose);

}  // namespace hfaudit::report
