// Build stamp of pgstack_exporter: the git commit and the Swift compiler it was built from.
// scripts/package.sh sets them with -Xcc -DPGSTACK_COMMIT='"…"' -Xcc -DPGSTACK_SWIFT_VERSION='"…"'
// (SwiftPM passes no string defines to Swift, but clang takes them); otherwise "unknown".
#ifndef CBUILDSTAMP_H
#define CBUILDSTAMP_H

const char *pgstack_build_commit(void);
const char *pgstack_build_swift_version(void);

#endif
