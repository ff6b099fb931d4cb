/* Wall-clock time: the CMOS RTC (MC146818) read once at boot, then advanced by the TSC.
 * Used for HTTP Date headers; 0 when the RTC reads back nonsense. */
#ifndef SKIFF_RTC_H
#define SKIFF_RTC_H

#include <stdint.h>

void rtc_init(void);
uint64_t rtc_unix_time(void);   /* seconds since 1970-01-01 UTC, 0 if unknown */
uint64_t rtc_unix_us(void);     /* the same in microseconds, 0 if unknown */

#endif
