#define BOOST_TEST_DYN_LINK
#define BOOST_TEST_MODULE hfaudit_app_tests
#include <boost/test/unit_test.hpp>
