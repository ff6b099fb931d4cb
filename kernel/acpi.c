/*
 * ACPI table walk: RSDP -> XSDT (or RSDT) -> MADT, MCFG, FADT -> DSDT \_S5.
 * Tables sit in ACPI memory that the identity map covers. All fields are read with
 * byte loads (tables are not aligned) and only after the table's length was checked.
 */
#include "kernel/acpi.h"
#include "kernel/console.h"
#include "lib/string.h"

#define MAX_TABLE_LEN (4u << 20)

static struct acpi_info info;

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static int checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

/* Returns the table at phys if its header, length and checksum are sane. */
static const uint8_t *table_at(uint64_t phys, uint32_t *len)
{
	const uint8_t *t = (const uint8_t *)(uintptr_t)phys;
	if (!t)
		return NULL;
	uint32_t n = rd32(t + 4);
	if (n < 36 || n > MAX_TABLE_LEN || !checksum_ok(t, n))
		return NULL;
	*len = n;
	return t;
}

static void parse_madt(const uint8_t *t, uint32_t len)
{
	if (len < 44)
		return;
	info.lapic_base = rd32(t + 36);
	for (uint32_t off = 44; off + 2 <= len;) {
		uint8_t type = t[off], elen = t[off + 1];
		if (elen < 2 || off + elen > len)
			break;          /* a zero length would never advance */
		const uint8_t *e = t + off;
		if (type == 0 && elen >= 8 && (rd32(e + 4) & 1))
			info.ncpus++;
		else if (type == 1 && elen >= 12 && info.n_ioapic < ACPI_MAX_IOAPIC) {
			info.ioapic[info.n_ioapic].id = e[2];
			info.ioapic[info.n_ioapic].addr = rd32(e + 4);
			info.ioapic[info.n_ioapic].gsi_base = rd32(e + 8);
			info.n_ioapic++;
		} else if (type == 2 && elen >= 10 && e[2] == 0 && info.n_iso < ACPI_MAX_ISO) {
			info.iso[info.n_iso].source = e[3];
			info.iso[info.n_iso].gsi = rd32(e + 4);
			info.iso[info.n_iso].flags = rd16(e + 8);
			info.n_iso++;
		} else if (type == 5 && elen >= 12)
			info.lapic_base = rd64(e + 4);
		off += elen;
	}
}

static void parse_mcfg(const uint8_t *t, uint32_t len)
{
	for (uint32_t off = 44; off + 16 <= len && info.n_mcfg < ACPI_MAX_MCFG; off += 16) {
		info.mcfg[info.n_mcfg].base = rd64(t + off);
		info.mcfg[info.n_mcfg].segment = rd16(t + off + 8);
		info.mcfg[info.n_mcfg].bus_start = t[off + 10];
		info.mcfg[info.n_mcfg].bus_end = t[off + 11];
		info.n_mcfg++;
	}
}

/* AML integer in a package: ZeroOp, OneOp, BytePrefix+byte (ACPI 6.5 §20.2.3). */
static int aml_small_int(const uint8_t *p, const uint8_t *end, uint16_t *v, int *used)
{
	if (p >= end)
		return -1;
	if (p[0] == 0x00 || p[0] == 0x01) {
		*v = p[0];
		*used = 1;
		return 0;
	}
	if (p[0] == 0x0A && p + 1 < end) {
		*v = p[1];
		*used = 2;
		return 0;
	}
	return -1;
}

/* Finds Name(_S5, Package(){SLP_TYPa, SLP_TYPb, ...}) in the DSDT's AML bytes. */
static void parse_s5(const uint8_t *t, uint32_t len)
{
	const uint8_t *end = t + len;
	for (const uint8_t *p = t + 36; p + 8 < end; p++) {
		if (memcmp(p, "_S5_", 4) != 0 || (p[-1] != 0x08 && !(p[-1] == '\\' && p[-2] == 0x08)))
			continue;
		const uint8_t *q = p + 4;
		if (*q++ != 0x12)       /* PackageOp */
			continue;
		q += 1 + (*q >> 6);     /* PkgLength: lead byte bits 7:6 count extra bytes */
		q++;                    /* NumElements */
		int used;
		if (aml_small_int(q, end, &info.slp_typa, &used))
			continue;
		q += used;
		if (aml_small_int(q, end, &info.slp_typb, &used))
			info.slp_typb = info.slp_typa;
		info.s5_valid = 1;
		return;
	}
}

static void parse_fadt(const uint8_t *t, uint32_t len)
{
	if (len < 116)
		return;
	info.pm1a_cnt = rd32(t + 64);
	info.pm1b_cnt = rd32(t + 68);
	uint64_t dsdt = rd32(t + 40);
	if (len >= 148 && rd64(t + 140))
		dsdt = rd64(t + 140);
	if (len >= 129 && (rd32(t + 112) & (1u << 10))) {
		info.reset_valid = 1;
		info.reset_space = t[116];
		info.reset_addr = rd64(t + 120);
		info.reset_value = t[128];
	}
	uint32_t dlen;
	const uint8_t *d = table_at(dsdt, &dlen);
	if (d && memcmp(d, "DSDT", 4) == 0)
		parse_s5(d, dlen);
}

static void parse_table(uint64_t phys)
{
	uint32_t len;
	const uint8_t *t = table_at(phys, &len);
	if (!t) {
		log_warn("acpi: table at 0x%lx has a bad length or checksum, skipped", (unsigned long)phys);
		return;
	}
	if (memcmp(t, "APIC", 4) == 0)
		parse_madt(t, len);
	else if (memcmp(t, "MCFG", 4) == 0)
		parse_mcfg(t, len);
	else if (memcmp(t, "FACP", 4) == 0)
		parse_fadt(t, len);
}

void acpi_init(uint64_t rsdp_phys)
{
	const uint8_t *rsdp = (const uint8_t *)(uintptr_t)rsdp_phys;
	if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) != 0 || !checksum_ok(rsdp, 20)) {
		log_warn("acpi: no valid RSDP; no IOAPIC, ECAM or ACPI power off");
		return;
	}
	memcpy(info.oem, rsdp + 9, 6);
	int xsdt = rsdp[15] >= 2 && checksum_ok(rsdp, 36) && rd64(rsdp + 24);
	uint32_t len;
	const uint8_t *root = table_at(xsdt ? rd64(rsdp + 24) : rd32(rsdp + 16), &len);
	if (!root) {
		log_warn("acpi: root table invalid");
		return;
	}
	uint32_t esize = xsdt ? 8 : 4;
	for (uint32_t off = 36; off + esize <= len; off += esize)
		parse_table(xsdt ? rd64(root + off) : rd32(root + off));
	info.ok = 1;
	log_info("acpi: OEM %s, %d CPU(s), %d IOAPIC(s), %d ECAM region(s), S5 %s",
		 info.oem, info.ncpus, info.n_ioapic, info.n_mcfg, info.s5_valid ? "found" : "missing");
}

const struct acpi_info *acpi_get(void)
{
	return &info;
}
