// A minimal, bounded HDF5 reader: just enough to read the string attributes
// of the root group (Keras keeps `model_config`, `keras_version` and
// `backend` there). libhdf5 is not used because hostile files crash it; this
// reader checks every address and length against the file size and gives up
// with an error instead.
//
// Supported: superblock versions 0-3 (size of offsets/lengths 2, 4 or 8),
// version 1 and 2 object headers with continuation blocks, attribute
// messages versions 1-3, fixed-length strings (datatype class 3, what h5py
// writes for Python bytes) and variable-length strings (class 9, stored in
// a global heap collection, what h5py writes for Python str).
// Not supported, reported in `unsupported` (callers must not call such a file
// clean): dense attribute storage in a fractal heap (used by v2 object
// headers for many attributes or attributes over 64 KiB), shared (committed)
// datatypes and dataspaces in attributes, shared object header messages,
// non-scalar string attributes. Datasets and group members are never read.
// Checksums of v2 structures are not verified (a bad checksum only makes
// libhdf5 refuse the file).
//
// Format reference: the HDF5 File Format Specification, version 3.0
// (sections II.A superblock, IV.A object headers, IV.A.2.m attribute
// message, III.E global heap).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "util/byte_source.hpp"

namespace hfaudit::scan::hdf5 {

struct Unsupported {
  std::string what;       // human description of the feature
  std::string attribute;  // the attribute involved, if any
  uint64_t offset = 0;
};

struct RootAttributes {
  int superblock_version = -1;
  int object_header_version = -1;
  std::vector<std::string> names;             // every root attribute seen, in order
  std::map<std::string, std::string> values;  // decoded wanted string attributes
  std::vector<Unsupported> unsupported;
  std::string error;  // non-empty when the structure is malformed; parsing stopped
  uint64_t error_offset = 0;
};

// Reads the root group's attributes; decodes those named in `wanted` when
// they are strings of at most `max_value` bytes. Never throws; at most a few
// hundred small reads plus the wanted values.
RootAttributes read_root_attributes(const util::ByteSource& bytes,
                                    const std::set<std::string>& wanted, uint64_t max_value);

}  // namespace hfaudit::scan::hdf5
