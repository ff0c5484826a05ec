# cmake -DCONFORM=<tpark-conform> -DPLUGIN=<lib.so> -DRULE=<n> -P expect_conform_failure.cmake
# Passes when the runner rejects the plugin (exit status 1) and names rule <n>.
execute_process(COMMAND ${CONFORM} ${PLUGIN} OUTPUT_VARIABLE out ERROR_VARIABLE err
                RESULT_VARIABLE rc TIMEOUT 120)
message("${out}${err}")
if(NOT rc EQUAL 1)
  message(FATAL_ERROR "expected tpark-conform to fail the plugin (exit 1), got: ${rc}")
endif()
string(REGEX MATCH "FAIL rule ${RULE} " found "${out}")
if(NOT found)
  message(FATAL_ERROR "expected a failed check of rule ${RULE}")
endif()
