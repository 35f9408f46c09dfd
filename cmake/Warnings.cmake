# One INTERFACE target every hfaudit target links, so warning flags live in one place.
add_library(hfaudit_warnings INTERFACE)
target_compile_options(hfaudit_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual
  -Wimplicit-fallthrough)
if(HFAUDIT_WERROR)
  target_compile_options(hfaudit_warnings INTERFACE -Werror)
endif()
