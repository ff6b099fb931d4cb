/*
 * Error codes for net/ APIs: 0 or the negative of these (Linux errno values, so a
 * number in a log line means what it means on Linux). net/ cannot use <errno.h>:
 * the image is freestanding.
 */
#ifndef SKIFF_NET_ERR_H
#define SKIFF_NET_ERR_H

#define NET_ENOENT 2
#define NET_EAGAIN 11
#define NET_ENOMEM 12
#define NET_EBUSY 16
#define NET_EEXIST 17
#define NET_ENODEV 19
#define NET_EINVAL 22
#define NET_ENOSPC 28
#define NET_EMSGSIZE 90
#define NET_EADDRINUSE 98
#define NET_EADDRNOTAVAIL 99
#define NET_ENETUNREACH 101
#define NET_ENOBUFS 105
#define NET_EHOSTUNREACH 113

#endif
