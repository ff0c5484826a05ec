// The shared library bench_abi_call calls into: one counting section reached
// both through its C ABI descriptor (tp_plugin_entry) and as a C++ object
// created here, so neither call can be inlined or devirtualised by the caller.
#pragma once

#include <tpark/tp_plugin.hpp>

// A new counting section (delete it with `delete`); its on_event is a virtual
// call into this library.
extern "C" tpark::Section* bench_abi_peer_new_section();
