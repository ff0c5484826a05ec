/* Compiled with -std=c99 -pedantic -Werror: the ABI header is plain C99. */
#include <tpark/tp_plugin.h>

int tp_header_check_sizes(void);
int tp_header_check_sizes(void) {
  return (int)(sizeof(tp_str) + sizeof(tp_error) + sizeof(tp_event_view) + sizeof(tp_host_api) +
               sizeof(tp_negotiate) + sizeof(tp_section_desc) + sizeof(tp_writer) +
               sizeof(tp_exporter_desc) + sizeof(tp_job_view) + sizeof(tp_orchestrator_desc) +
               sizeof(tp_applier_desc));
}
