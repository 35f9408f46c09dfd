# Every third-party dependency, found once, with the minimum versions checked on
# Debian 12 (see docs/dependencies.md for why each one is used).
find_package(OpenSSL 3.0 REQUIRED)
find_package(CURL 7.88 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(CLI11 2.1 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(BZip2 REQUIRED)
find_package(LibLZMA REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
find_package(SQLiteCpp REQUIRED)
find_package(yaml-cpp 0.7 REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS unit_test_framework)
find_package(Python3 REQUIRED COMPONENTS Interpreter)

message(STATUS "hfaudit dependencies: OpenSSL ${OPENSSL_VERSION}, libcurl ${CURL_VERSION_STRING}, nlohmann_json ${nlohmann_json_VERSION}, "
               "fmt ${fmt_VERSION}, CLI11 ${CLI11_VERSION}, zlib ${ZLIB_VERSION_STRING}, "
               "zstd ${ZSTD_VERSION}, SQLiteCpp ${SQLiteCpp_VERSION}, yaml-cpp ${yaml-cpp_VERSION}, "
               "Boost ${Boost_VERSION}")
