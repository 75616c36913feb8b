#include "CBuildStamp.h"

// Defaults for a plain `swift build`, which passes no stamp.
#ifndef PGSTACK_COMMIT
#define PGSTACK_COMMIT "unknown"
#endif
#ifndef PGSTACK_SWIFT_VERSION
#define PGSTACK_SWIFT_VERSION "unknown"
#endif

const char *pgstack_build_commit(void) { return PGSTACK_COMMIT; }
const char *pgstack_build_swift_version(void) { return PGSTACK_SWIFT_VERSION; }
