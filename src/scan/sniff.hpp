// Content sniffing: which format a byte source holds, decided by magic bytes
// and structure. The name only breaks ties between formats whose content is
// ambiguous (text vs Python source); it never overrides content.
#pragma once

#include <string_view>
#include <vector>

#include "scan/format.hpp"
#include "util/byte_source.hpp"

namespace hfaudit::scan {

Format sniff(const util::ByteSource& bytes, std::string_view name);

// Formats a file with this name is expected to hold; empty when the extension
// says nothing (no extension, or one that any content may use). Used to flag
// files whose extension lies about their content.
struct ExpectedFormats {
  std::string_view extension;   // lower-cased, with the dot
  std::vector<Format> formats;  // any of these is consistent
};
const ExpectedFormats* expected_formats_for(std::string_view name);

}  // namespace hfaudit::scan
