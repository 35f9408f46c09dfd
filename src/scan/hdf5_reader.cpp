#include "scan/hdf5_reader.hpp"

#include <algorithm>

namespace hfaudit::scan::hdf5 {

namespace {

constexpr std::string_view k_signature = "\x89HDF\r\n\x1a\n";
constexpr size_t k_max_blocks = 256;      // object header chunks followed
constexpr size_t k_max_messages = 65536;  // header messages examined
constexpr uint64_t k_max_block_size = 64ull << 20;
constexpr uint16_t k_msg_nil = 0x0000;
constexpr uint16_t k_msg_continuation = 0x0010;
constexpr uint16_t k_msg_attribute = 0x000C;
constexpr uint16_t k_msg_attribute_info = 0x0015;

uint64_t le(std::string_view s, size_t pos, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(s[pos + i])) << (8 * i);
  return v;
}

uint64_t pad8(uint64_t n) {
  return (n + 7) & ~uint64_t{7};
}

class Reader {
 public:
  Reader(const util::ByteSource& bytes, const std::set<std::string>& wanted, uint64_t max_value,
         RootAttributes& out)
      : m_bytes(bytes),
        m_size(bytes.size()),
        m_wanted(wanted),
        m_max_value(max_value),
        m_out(out) {}

  void run();

 private:
  bool fail(const std::string& message, uint64_t offset) {
    if (m_out.error.empty()) {
      m_out.error = message;
      m_out.error_offset = offset;
    }
    return false;
  }
  void unsupported(const std::string& what, const std::string& attribute, uint64_t offset) {
    m_out.unsupported.push_back(Unsupported{what, attribute, offset});
  }
  // Exactly `n` bytes at `offset`, or a failure naming `what`.
  bool read(uint64_t offset, uint64_t n, std::string& out, const std::string& what) {
    if (offset > m_size || n > m_size - offset)
      return fail(what + " at " + std::to_string(offset) + " (+" + std::to_string(n) +
                      ") lies outside the file",
                  offset);
    auto r = m_bytes.read_string(offset, static_cast<size_t>(n));
    if (!r || r->size() != n) return fail("cannot read " + what, offset);
    out = std::move(*r);
    return true;
  }
  bool undefined(uint64_t address) const {
    return m_offset_size == 8 ? address == UINT64_MAX
                              : address == (uint64_t{1} << (8 * m_offset_size)) - 1;
  }
  // Addresses in the file are relative to the base address.
  bool absolute(uint64_t address, uint64_t& out, uint64_t at) {
    if (address > UINT64_MAX - m_base) return fail("address overflows", at);
    out = m_base + address;
    return true;
  }

  bool read_superblock(uint64_t& root_header);
  bool read_object_header(uint64_t address);
  bool read_messages_v1(std::string_view block, uint64_t block_offset);
  bool read_messages_v2(std::string_view block, uint64_t block_offset, uint8_t header_flags);
  bool handle_message(uint16_t type, uint8_t flags, std::string_view data, uint64_t offset);
  bool read_attribute(std::string_view data, uint64_t offset);
  bool read_vlen_string(std::string_view element, uint64_t offset, const std::string& name,
                        std::string& value);

  const util::ByteSource& m_bytes;
  uint64_t m_size;
  const std::set<std::string>& m_wanted;
  uint64_t m_max_value;
  RootAttributes& m_out;
  size_t m_offset_size = 8;
  size_t m_length_size = 8;
  uint64_t m_base = 0;
  std::vector<std::pair<uint64_t, uint64_t>> m_pending_blocks;  // continuation (address, length)
  std::set<uint64_t> m_seen_blocks;
  size_t m_messages = 0;
};

bool Reader::read_superblock(uint64_t& root_header) {
  std::string head;
  if (!read(0, 12, head, "the superblock")) return false;
  if (head.substr(0, 8) != k_signature) return fail("missing HDF5 signature", 0);
  const int version = static_cast<unsigned char>(head[8]);
  m_out.superblock_version = version;
  std::string sb;
  if (version == 0 || version == 1) {
    if (!read(0, 24, sb, "the superblock")) return false;
    m_offset_size = static_cast<unsigned char>(sb[13]);
    m_length_size = static_cast<unsigned char>(sb[14]);
  } else if (version == 2 || version == 3) {
    m_offset_size = static_cast<unsigned char>(head[9]);
    m_length_size = static_cast<unsigned char>(head[10]);
  } else {
    return fail("unknown superblock version " + std::to_string(version), 8);
  }
  const auto valid = [](size_t n) { return n == 2 || n == 4 || n == 8; };
  if (!valid(m_offset_size) || !valid(m_length_size))
    return fail("unsupported size of offsets/lengths", 13);
  const size_t o = m_offset_size;
  if (version <= 1) {
    // 24 fixed bytes (+4 for v1), four addresses, then the root group's
    // symbol table entry: link name offset, object header address, ...
    const size_t fixed = version == 1 ? 28 : 24;
    if (!read(0, fixed + 4 * o + 2 * o + 24, sb, "the superblock")) return false;
    m_base = le(sb, fixed, o);
    root_header = le(sb, fixed + 4 * o + o, o);
  } else {
    // signature, version, sizes, flags (12), base, extension, end of file,
    // root object header address, checksum.
    if (!read(0, 12 + 4 * o + 4, sb, "the superblock")) return false;
    m_base = le(sb, 12, o);
    root_header = le(sb, 12 + 3 * o, o);
  }
  if (undefined(root_header)) return fail("the root group has no object header address", 0);
  return absolute(root_header, root_header, 0);
}

bool Reader::read_object_header(uint64_t address) {
  std::string prefix;
  if (!read(address, 16, prefix, "the root object header")) return false;
  if (prefix.substr(0, 4) == "OHDR") {
    m_out.object_header_version = 2;
    if (prefix[4] != 2) return fail("unknown v2 object header version", address + 4);
    const auto flags = static_cast<uint8_t>(prefix[5]);
    uint64_t p = 6;
    if (flags & 0x20) p += 16;  // access/modification/change/birth times
    if (flags & 0x10) p += 4;   // attribute phase change values
    const size_t width = size_t{1} << (flags & 3);
    std::string size_bytes;
    if (!read(address + p, width, size_bytes, "the object header size")) return false;
    const uint64_t chunk = le(size_bytes, 0, width);
    if (chunk > k_max_block_size) return fail("object header chunk too large", address);
    std::string block;
    if (!read(address + p + width, chunk, block, "the object header chunk")) return false;
    if (!read_messages_v2(block, address + p + width, flags)) return false;
    while (!m_pending_blocks.empty()) {
      const auto [at, length] = m_pending_blocks.back();
      m_pending_blocks.pop_back();
      if (length < 8 || length > k_max_block_size)
        return fail("continuation block of bad length", at);
      if (!read(at, length, block, "a continuation block")) return false;
      if (block.substr(0, 4) != "OCHK")
        return fail("continuation block without OCHK signature", at);
      // Signature (4) in front, checksum (4) at the end.
      if (!read_messages_v2(std::string_view(block).substr(4, length - 8), at + 4, flags))
        return false;
    }
    return true;
  }
  m_out.object_header_version = static_cast<unsigned char>(prefix[0]);
  if (prefix[0] != 1) return fail("unknown object header version", address);
  const uint64_t size = le(prefix, 8, 4);
  if (size > k_max_block_size) return fail("object header too large", address);
  std::string block;
  // The 12-byte prefix is padded to 16 so messages are 8-byte aligned.
  if (!read(address + 16, size, block, "the object header messages")) return false;
  if (!read_messages_v1(block, address + 16)) return false;
  while (!m_pending_blocks.empty()) {
    const auto [at, length] = m_pending_blocks.back();
    m_pending_blocks.pop_back();
    if (length > k_max_block_size) return fail("continuation block too large", at);
    if (!read(at, length, block, "a continuation block")) return false;
    if (!read_messages_v1(block, at)) return false;
  }
  return true;
}

bool Reader::read_messages_v1(std::string_view block, uint64_t block_offset) {
  size_t p = 0;
  while (p + 8 <= block.size()) {
    if (++m_messages > k_max_messages) return fail("too many header messages", block_offset + p);
    const auto type = static_cast<uint16_t>(le(block, p, 2));
    const uint64_t size = le(block, p + 2, 2);
    const auto flags = static_cast<uint8_t>(block[p + 4]);
    if (size > block.size() - p - 8)
      return fail("header message runs past its block", block_offset + p);
    if (!handle_message(type, flags, block.substr(p + 8, size), block_offset + p + 8)) return false;
    p += 8 + size;
  }
  return true;
}

bool Reader::read_messages_v2(std::string_view block, uint64_t block_offset, uint8_t header_flags) {
  const size_t header = (header_flags & 0x04) ? 6 : 4;
  size_t p = 0;
  // Fewer bytes than a message header left over are a gap, not a message.
  while (p + header <= block.size()) {
    if (++m_messages > k_max_messages) return fail("too many header messages", block_offset + p);
    const auto type = static_cast<uint8_t>(block[p]);
    const uint64_t size = le(block, p + 1, 2);
    const auto flags = static_cast<uint8_t>(block[p + 3]);
    if (size > block.size() - p - header)
      return fail("header message runs past its block", block_offset + p);
    if (!handle_message(type, flags, block.substr(p + header, size), block_offset + p + header))
      return false;
    p += header + size;
  }
  return true;
}

bool Reader::handle_message(uint16_t type, uint8_t flags, std::string_view data, uint64_t offset) {
  const size_t o = m_offset_size;
  switch (type) {
    case k_msg_nil:
      return true;
    case k_msg_continuation: {
      if (data.size() < o + m_length_size) return fail("short continuation message", offset);
      uint64_t at = 0;
      if (!absolute(le(data, 0, o), at, offset)) return false;
      const uint64_t length = le(data, o, m_length_size);
      if (!m_seen_blocks.insert(at).second) return fail("continuation blocks form a loop", offset);
      if (m_seen_blocks.size() > k_max_blocks) return fail("too many continuation blocks", offset);
      m_pending_blocks.emplace_back(at, length);
      return true;
    }
    case k_msg_attribute_info: {
      // version, flags, [max creation index], fractal heap address, ...
      if (data.size() < 2) return fail("short attribute info message", offset);
      const size_t p = (data[1] & 0x01) ? 4 : 2;
      if (data.size() < p + o) return fail("short attribute info message", offset);
      if (!undefined(le(data, p, o)))
        unsupported("attributes in dense storage (fractal heap)", "", offset);
      return true;
    }
    case k_msg_attribute:
      if (flags & 0x02) {
        unsupported("a shared attribute message", "", offset);
        return true;
      }
      return read_attribute(data, offset);
    default:
      return true;
  }
}

bool Reader::read_attribute(std::string_view data, uint64_t offset) {
  if (data.size() < 8) return fail("short attribute message", offset);
  const int version = static_cast<unsigned char>(data[0]);
  const auto flags = static_cast<uint8_t>(data[1]);
  const uint64_t name_size = le(data, 2, 2);
  const uint64_t type_size = le(data, 4, 2);
  const uint64_t space_size = le(data, 6, 2);
  uint64_t p = 8;
  bool padded = false;
  if (version == 1) {
    padded = true;
  } else if (version == 3) {
    p = 9;  // name character set encoding
  } else if (version != 2) {
    return fail("unknown attribute message version " + std::to_string(version), offset);
  }
  const auto field = [&](uint64_t size, std::string_view& out) {
    const uint64_t step = padded ? pad8(size) : size;
    if (p > data.size() || size > data.size() - p) return false;
    out = data.substr(p, size);
    p = std::min<uint64_t>(p + step, data.size());
    return true;
  };
  std::string_view name;
  std::string_view type;
  std::string_view space;
  if (!field(name_size, name) || !field(type_size, type) || !field(space_size, space))
    return fail("attribute message fields run past the message", offset);
  std::string attr(name.substr(0, name.find('\0')));
  if (m_out.names.size() < 1000) m_out.names.push_back(attr);
  if (!m_wanted.count(attr)) return true;
  if (flags & 0x03) {
    unsupported("a shared datatype or dataspace", attr, offset);
    return true;
  }
  const std::string_view value = data.substr(std::min<uint64_t>(p, data.size()));
  // Dataspace: element count must be 1 (scalar, or a one-element array).
  if (space.size() < 4) return fail("short dataspace in attribute " + attr, offset);
  const int space_version = static_cast<unsigned char>(space[0]);
  const int rank = static_cast<unsigned char>(space[1]);
  uint64_t dims_at = space_version == 1 ? 8 : 4;
  if (space_version == 2 && space[3] == 2) {
    unsupported("a null dataspace", attr, offset);
    return true;
  }
  if (space_version != 1 && space_version != 2)
    return fail("unknown dataspace version in attribute " + attr, offset);
  uint64_t count = 1;
  for (int i = 0; i < rank; ++i) {
    if (dims_at + m_length_size > space.size())
      return fail("dataspace dimensions run past the message", offset);
    const uint64_t d = le(space, dims_at, m_length_size);
    count = d == 0 ? 0 : (count > UINT64_MAX / d ? UINT64_MAX : count * d);
    dims_at += m_length_size;
  }
  if (count != 1) {
    unsupported("a string attribute with " + std::to_string(count) + " elements", attr, offset);
    return true;
  }
  if (type.size() < 8) return fail("short datatype in attribute " + attr, offset);
  const int type_class = static_cast<unsigned char>(type[0]) & 0x0F;
  const uint64_t element_size = le(type, 4, 4);
  if (type_class == 3) {
    if (element_size > value.size())
      return fail("string attribute " + attr + " runs past its message", offset);
    if (element_size > m_max_value) {
      unsupported("a string attribute larger than the limit", attr, offset);
      return true;
    }
    std::string text(value.substr(0, element_size));
    const int padding = static_cast<unsigned char>(type[1]) & 0x0F;
    if (padding == 0) {
      text = text.substr(0, text.find('\0'));  // null-terminated
    } else {
      const char pad = padding == 2 ? ' ' : '\0';
      while (!text.empty() && text.back() == pad) text.pop_back();
    }
    m_out.values[attr] = std::move(text);
    return true;
  }
  if (type_class == 9 && (static_cast<unsigned char>(type[1]) & 0x0F) == 1) {
    std::string text;
    if (!read_vlen_string(value, offset, attr, text)) return false;
    m_out.values[attr] = std::move(text);
    return true;
  }
  unsupported(
      "an attribute that is not a string (datatype class " + std::to_string(type_class) + ")", attr,
      offset);
  return true;
}

// A variable-length string element: u32 length, then a global heap ID
// (collection address, u32 object index). The bytes live in that object.
bool Reader::read_vlen_string(std::string_view element, uint64_t offset, const std::string& name,
                              std::string& value) {
  const size_t o = m_offset_size;
  const size_t l = m_length_size;
  if (element.size() < 4 + o + 4) return fail("short variable-length element in " + name, offset);
  const uint64_t length = le(element, 0, 4);
  uint64_t collection = 0;
  if (!absolute(le(element, 4, o), collection, offset)) return false;
  const uint64_t index = le(element, 4 + o, 4);
  if (length > m_max_value) {
    unsupported("a string attribute larger than the limit", name, offset);
    return true;
  }
  std::string head;
  if (!read(collection, 8 + l, head, "the global heap collection of " + name)) return false;
  if (head.substr(0, 4) != "GCOL") return fail("global heap collection without GCOL", collection);
  const uint64_t collection_size = le(head, 8, l);
  if (collection_size > m_size - collection)
    return fail("global heap runs past the file", collection);
  uint64_t p = collection + 8 + l;
  const uint64_t end = collection + collection_size;
  // Objects: u16 index, u16 reference count, u32 reserved, length-size
  // object size, data padded to 8 bytes. Index 0 is the free space.
  for (size_t n = 0; p + 8 + l <= end && n < 1'000'000; ++n) {
    std::string object;
    if (!read(p, 8 + l, object, "a global heap object")) return false;
    const uint64_t object_index = le(object, 0, 2);
    const uint64_t size = le(object, 8, l);
    if (object_index == 0) break;
    if (size > end - p - 8 - l) return fail("global heap object runs past its collection", p);
    if (object_index == index) {
      if (length > size) return fail("string longer than its heap object", p);
      return read(p + 8 + l, length, value, "the value of " + name);
    }
    p += 8 + l + pad8(size);
  }
  return fail("global heap object " + std::to_string(index) + " for " + name + " not found",
              collection);
}

void Reader::run() {
  uint64_t root = 0;
  if (!read_superblock(root)) return;
  read_object_header(root);
}

}  // namespace

RootAttributes read_root_attributes(const util::ByteSource& bytes,
                                    const std::set<std::string>& wanted, uint64_t max_value) {
  RootAttributes out;
  Reader(bytes, wanted, max_value, out).run();
  return out;
}

}  // namespace hfaudit::scan::hdf5
