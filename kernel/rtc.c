/*
 * CMOS RTC read (MC146818A datasheet; register B bit 2 = binary, bit 1 = 24 h).
 * Read twice until two consecutive reads agree, so an update in progress cannot
 * give a torn time. The RTC is assumed to hold UTC, as QEMU's does by default.
 */
#include "kernel/rtc.h"
#include "kernel/time.h"
#include "kernel/console.h"
#include "kernel/cpu.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71

static uint64_t boot_unix;      /* unix time at boot_ns */
static uint64_t boot_ns;

static uint8_t cmos(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

struct rtc_time {
	uint8_t sec, min, hour, day, mon, year, century;
};

static void read_raw(struct rtc_time *t)
{
	while (cmos(0x0A) & 0x80)       /* update in progress */
		pause();
	t->sec = cmos(0x00);
	t->min = cmos(0x02);
	t->hour = cmos(0x04);
	t->day = cmos(0x07);
	t->mon = cmos(0x08);
	t->year = cmos(0x09);
	t->century = cmos(0x32);
}

static uint8_t bcd(uint8_t v)
{
	return (uint8_t)((v >> 4) * 10 + (v & 15));
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void rtc_init(void)
{
	struct rtc_time a, b;
	int tries = 0;
	do {
		read_raw(&a);
		read_raw(&b);
	} while ((a.sec != b.sec || a.min != b.min || a.day != b.day) && ++tries < 5);
	uint8_t regb = cmos(0x0B);
	int pm = !(regb & 0x02) && (b.hour & 0x80);
	b.hour &= 0x7F;
	if (!(regb & 0x04)) {
		b.sec = bcd(b.sec); b.min = bcd(b.min); b.hour = bcd(b.hour);
		b.day = bcd(b.day); b.mon = bcd(b.mon); b.year = bcd(b.year); b.century = bcd(b.century);
	}
	if (pm)
		b.hour = (uint8_t)((b.hour % 12) + 12);
	unsigned year = (b.century >= 19 && b.century <= 21 ? b.century : 20) * 100u + b.year;
	if (b.mon < 1 || b.mon > 12 || b.day < 1 || b.day > 31 || b.hour > 23 || b.min > 59 || b.sec > 60 ||
	    year < 2000) {
		log_warn("rtc: implausible CMOS time, wall clock unknown");
		return;
	}
	boot_ns = time_ns();
	boot_unix = (uint64_t)days_from_civil(year, b.mon, b.day) * 86400 + b.hour * 3600u + b.min * 60u + b.sec;
	log_info("rtc: %04u-%02u-%02u %02u:%02u:%02u UTC", year, b.mon, b.day, b.hour, b.min, b.sec);
}

uint64_t rtc_unix_time(void)
{
	if (!boot_unix)
		return 0;
	return boot_unix + (time_ns() - boot_ns) / 1000000000ull;
}

uint64_t rtc_unix_us(void)
{
	if (!boot_unix)
		return 0;
	return boot_unix * 1000000ull + (time_ns() - boot_ns) / 1000ull;
}
