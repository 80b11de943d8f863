// SwiftPM builds a C target only from at least one source file; everything this target
// offers is static inline in include/cfiotrace_support.h, so this file only includes it
// (and so checks that the header compiles on its own).
#include "cfiotrace_support.h"
