# HFAUDIT_SANITIZE=ON builds everything with ASan + UBSan (tests then run the
# whole fixture corpus through every parser under the sanitizers).
option(HFAUDIT_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
if(HFAUDIT_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
