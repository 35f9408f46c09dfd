#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE hfaudit_policies_tests
#include <boost/test/unit_test.hpp>
