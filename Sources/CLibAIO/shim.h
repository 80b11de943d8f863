#include <features.h>
#include <libaio.h>
