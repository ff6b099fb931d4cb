/* Counter names for nstat (see stats.h): generated from the same lists as the enums. */
#include "net/stats.h"

const char *const net_mib_names[MIB_COUNT] = {
#define NET_MIB_NAME(n) #n,
	NET_MIB_LIST(NET_MIB_NAME)
#undef NET_MIB_NAME
};

const char *const net_drop_names[DROP_COUNT] = {
#define NET_DROP_NAME(e, n) n,
	NET_DROP_LIST(NET_DROP_NAME)
#undef NET_DROP_NAME
};
