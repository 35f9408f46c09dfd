#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE hfaudit_cache_tests
#include <boost/test/unit_test.hpp>
