// Renderings of `hfaudit info`: a compact human table and the hfaudit.info/1
// JSON document (docs/json-schemas.md).
#pragma once

#include <string>

#include "trust/trust.hpp"

namespace hfaudit::report {

struct InfoRenderOptions {
  bool verbose = false;  // per-file table
  bool color = false;
};

std::string render_info_text(const trust::TrustReport& report, const InfoRenderOptions& options);
std::string render_info_json(const trust::TrustReport& report);

}  // namespace hfaudit::report
