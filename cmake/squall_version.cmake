# The version comes from project() alone: squall/version.hpp is generated
# from it into the build tree's include/, beside links that give the
# in-tree headers the spelling consumers use (<squall/http/...>).
set(SQUALL_GENERATED_INCLUDE_DIR ${CMAKE_BINARY_DIR}/include)
configure_file(${PROJECT_SOURCE_DIR}/cmake/version.hpp.in ${SQUALL_GENERATED_INCLUDE_DIR}/squall/version.hpp @ONLY)
foreach(_layer engine http ws)
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/${_layer} ${SQUALL_GENERATED_INCLUDE_DIR}/squall/${_layer} SYMBOLIC)
endforeach()
