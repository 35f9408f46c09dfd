#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE hfaudit_lockfile_tests
#include <boost/test/unit_test.hpp>
