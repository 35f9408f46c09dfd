#include "scan/format_scanners.hpp"
namespace hfaudit::scan {
void check_chat_template(ScanContext&, std::string_view, uint64_t, std::string_view) {}
}  // namespace hfaudit::scan
