// Declarations only (see include/cfuzzdriver.h); the definitions come from libFuzzer.
#include "cfuzzdriver.h"
