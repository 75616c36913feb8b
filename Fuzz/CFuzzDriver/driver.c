#include "CFuzzDriver.h"

// libFuzzer's entry point for programs that have their own main. A weak reference: it is null
// unless the program was linked with -sanitize=fuzzer, which links libFuzzer in whole.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, pgstack_fuzz_callback callback) __attribute__((weak));

int pgstack_fuzz_run_driver(int *argc, char ***argv, pgstack_fuzz_callback callback) {
    if (!LLVMFuzzerRunDriver) {
        return -1;
    }
    return LLVMFuzzerRunDriver(argc, argv, callback);
}
