// Starts libFuzzer's driver when the binary was linked with it (-sanitize=fuzzer).
#ifndef PGSTACK_CFUZZDRIVER_H
#define PGSTACK_CFUZZDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// The function libFuzzer calls with each input.
typedef int (*pgstack_fuzz_callback)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver with the command line (it does not return once fuzzing ends: it
/// exits), or returns -1 at once when libFuzzer is not linked in (a plain build).
int pgstack_fuzz_run_driver(int *argc, char ***argv, pgstack_fuzz_callback callback);

#endif
