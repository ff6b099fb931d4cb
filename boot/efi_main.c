/*
 * UEFI entry: the only code that talks to boot services.
 *
 * Order: banner -> loaded-image protocol -> skiff.conf, load options and www/ from the
 * boot volume -> ACPI RSDP -> TSC hint -> framebuffer (GOP) -> memory map -> ExitBootServices (retried on a
 * stale map key, UEFI 2.10 §7.4) -> kernel_main(). Nothing in boot/ runs after that.
 * Everything handed over lives in EfiLoaderData pool memory, which the kernel's page
 * allocator never reuses.
 */
#include <efi.h>
#include "kernel/bootinfo.h"
#include "kernel/cpu.h"

#define CONF_MAX (64 * 1024)
#define WWW_MAX_TOTAL (96u * 1024 * 1024)
#define BANNER "Skiff unikernel network stack (x86-64, UEFI)"

static EFI_SYSTEM_TABLE *st;
static EFI_BOOT_SERVICES *bs;

static void com1_puts(const char *s)
{
	/* Polled 16550 output: the kernel's UART driver is not up yet. */
	for (; *s; s++) {
		for (int spin = 0; spin < 100000 && !(inb(0x3F8 + 5) & 0x20); spin++)
			;
		outb(0x3F8, (uint8_t)*s);
	}
}

static void con_puts(const char *s)
{
	CHAR16 buf[128];
	size_t n = 0;
	for (; *s; s++) {
		if (*s == '\n')
			buf[n++] = '\r';
		buf[n++] = (CHAR16)*s;
		if (n >= 120 || !s[1]) {
			buf[n] = 0;
			st->ConOut->OutputString(st->ConOut, buf);
			n = 0;
		}
	}
}

static void say(const char *s)
{
	con_puts(s);
	com1_puts(s);
}

static int guid_eq(const EFI_GUID *a, const EFI_GUID *b)
{
	const uint8_t *x = (const uint8_t *)a, *y = (const uint8_t *)b;
	for (size_t i = 0; i < sizeof(EFI_GUID); i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

static void *pool_alloc(UINTN size)
{
	void *p = NULL;
	if (bs->AllocatePool(EfiLoaderData, size, &p) != EFI_SUCCESS)
		return NULL;
	return p;
}

/* Reads a whole regular file, at most max bytes; returns NULL if it is larger. */
static uint8_t *read_file(EFI_FILE_HANDLE f, UINT64 max, UINT64 *out_len)
{
	EFI_GUID info_id = EFI_FILE_INFO_ID;
	UINT8 info_buf[sizeof(EFI_FILE_INFO) + 512];
	UINTN info_len = sizeof(info_buf);
	if (f->GetInfo(f, &info_id, &info_len, info_buf) != EFI_SUCCESS)
		return NULL;
	UINT64 size = ((EFI_FILE_INFO *)info_buf)->FileSize;
	if (size > max)
		return NULL;
	uint8_t *data = pool_alloc(size + 1);
	if (!data)
		return NULL;
	UINTN got = size;
	if (f->Read(f, &got, data) != EFI_SUCCESS || got != size)
		return NULL;
	data[size] = 0;
	*out_len = size;
	return data;
}

static void load_conf(EFI_FILE_HANDLE root, struct boot_info *bi)
{
	EFI_FILE_HANDLE f;
	if (root->Open(root, &f, L"\\skiff.conf", EFI_FILE_MODE_READ, 0) != EFI_SUCCESS) {
		say("boot: no skiff.conf on the boot volume, using defaults\n");
		return;
	}
	UINT64 len = 0;
	bi->conf_text = (const char *)read_file(f, CONF_MAX, &len);
	bi->conf_len = len;
	f->Close(f);
	say(bi->conf_text ? "boot: read skiff.conf\n" : "boot: skiff.conf unreadable or over 64 KiB, ignored\n");
}

/* Appends an ASCII copy of a UCS-2 name; returns 0 if it does not fit or is not ASCII. */
static int append_name(char *dst, size_t cap, size_t *pos, const CHAR16 *name)
{
	for (; *name; name++) {
		if (*name < 0x20 || *name > 0x7e || *pos + 1 >= cap)
			return 0;
		dst[(*pos)++] = (char)*name;
	}
	dst[*pos] = 0;
	return 1;
}

static UINT64 www_total;

/* Loads every regular file below dir (depth-bounded) into bi->files. */
static void load_dir(EFI_FILE_HANDLE dir, struct boot_info *bi, const char *prefix, int depth)
{
	UINT8 buf[sizeof(EFI_FILE_INFO) + 512];
	for (;;) {
		UINTN len = sizeof(buf);
		if (dir->Read(dir, &len, buf) != EFI_SUCCESS || len == 0)
			return;
		EFI_FILE_INFO *info = (EFI_FILE_INFO *)buf;
		if (info->FileName[0] == '.')
			continue;
		char path[96];
		size_t pos = 0;
		path[0] = 0;
		for (; prefix[pos]; pos++)
			path[pos] = prefix[pos];
		if (!append_name(path, sizeof(path), &pos, info->FileName))
			continue;
		EFI_FILE_HANDLE child;
		if (dir->Open(dir, &child, info->FileName, EFI_FILE_MODE_READ, 0) != EFI_SUCCESS)
			continue;
		if (info->Attribute & EFI_FILE_DIRECTORY) {
			if (depth < 4 && pos + 1 < sizeof(path)) {
				path[pos] = '/';
				path[pos + 1] = 0;
				load_dir(child, bi, path, depth + 1);
			}
		} else if (bi->nfiles < BOOT_MAX_FILES && www_total + info->FileSize <= WWW_MAX_TOTAL) {
			struct boot_file *bf = &bi->files[bi->nfiles];
			UINT64 size = 0;
			bf->data = read_file(child, WWW_MAX_TOTAL - www_total, &size);
			if (bf->data) {
				for (size_t i = 0; i <= pos; i++)
					bf->name[i] = path[i];
				bf->size = size;
				www_total += size;
				bi->nfiles++;
			}
		}
		child->Close(child);
	}
}

static void load_volume(EFI_LOADED_IMAGE *li, struct boot_info *bi)
{
	EFI_GUID fs_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_FILE_HANDLE root, www;
	if (bs->HandleProtocol(li->DeviceHandle, &fs_guid, (void **)&fs) != EFI_SUCCESS ||
	    fs->OpenVolume(fs, &root) != EFI_SUCCESS) {
		say("boot: boot volume has no file system; defaults only\n");
		return;
	}
	load_conf(root, bi);
	if (root->Open(root, &www, L"\\www", EFI_FILE_MODE_READ, 0) == EFI_SUCCESS) {
		load_dir(www, bi, "", 0);
		www->Close(www);
	}
	root->Close(root);
}

/* Load options are UCS-2 text; keep the printable ASCII part. */
static void load_cmdline(EFI_LOADED_IMAGE *li, struct boot_info *bi)
{
	const CHAR16 *opt = li->LoadOptions;
	size_t n = li->LoadOptionsSize / sizeof(CHAR16), out = 0;
	for (size_t i = 0; opt && i < n && opt[i] && out + 1 < sizeof(bi->cmdline); i++)
		bi->cmdline[out++] = (opt[i] >= 0x20 && opt[i] < 0x7f) ? (char)opt[i] : ' ';
	bi->cmdline[out] = 0;
}

static void find_rsdp(struct boot_info *bi)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (guid_eq(&t->VendorGuid, &acpi20))
			bi->rsdp = (uint64_t)(uintptr_t)t->VendorTable;
		else if (!bi->rsdp && guid_eq(&t->VendorGuid, &acpi10))
			bi->rsdp = (uint64_t)(uintptr_t)t->VendorTable;
	}
}

/* CPUID 0x15 (TSC/crystal ratio) or 0x16 (base MHz): a hint, the kernel measures anyway. */
static uint64_t tsc_hint(void)
{
	uint32_t a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	uint32_t max = a;
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c)
			return (uint64_t)c * b / a;
	}
	if (max >= 0x16) {
		cpuid(0x16, 0, &a, &b, &c, &d);
		if (a)
			return (uint64_t)(a & 0xffff) * 1000000;
	}
	return 0;
}

/* The Graphics Output Protocol's current mode (UEFI 2.10 §12.9.2): the framebuffer stays
 * valid after ExitBootServices, the protocol itself does not. A BltOnly mode has no
 * linear framebuffer, so there is nothing to hand over. */
static void find_framebuffer(struct boot_info *bi)
{
	EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	if (bs->LocateProtocol(&gop_guid, NULL, (void **)&gop) != EFI_SUCCESS || !gop->Mode ||
	    !gop->Mode->Info)
		return;
	const EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info = gop->Mode->Info;
	if (info->PixelFormat == PixelBltOnly || !gop->Mode->FrameBufferBase)
		return;
	bi->fb.base = gop->Mode->FrameBufferBase;
	bi->fb.size = gop->Mode->FrameBufferSize;
	bi->fb.width = info->HorizontalResolution;
	bi->fb.height = info->VerticalResolution;
	bi->fb.stride = info->PixelsPerScanLine;
	bi->fb.format = (uint32_t)info->PixelFormat;
}

/* Gets the final map and leaves boot services; a stale key means the map changed. */
static EFI_STATUS exit_boot(EFI_HANDLE image, struct boot_info *bi)
{
	UINTN size = 0, key, dsize;
	UINT32 dver;
	bs->GetMemoryMap(&size, NULL, &key, &dsize, &dver);
	/* Room for the entries our own allocation and later changes add. */
	UINTN cap = size + 16 * dsize;
	uint8_t *map = pool_alloc(cap);
	if (!map)
		return EFI_OUT_OF_RESOURCES;
	EFI_STATUS s = EFI_LOAD_ERROR;
	for (int tries = 0; tries < 8; tries++) {
		size = cap;
		s = bs->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)map, &key, &dsize, &dver);
		if (s != EFI_SUCCESS)
			return s;
		bi->memmap = map;
		bi->memmap_size = size;
		bi->memdesc_size = dsize;
		s = bs->ExitBootServices(image, key);
		if (s == EFI_SUCCESS)
			return s;
		/* EFI_INVALID_PARAMETER: the map key is stale; only GetMemoryMap may be called. */
	}
	return s;
}

/* Called by gnu-efi's crt0 after _relocate, with the SysV calling convention. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	uint64_t t0 = rdtsc();
	st = systab;
	bs = systab->BootServices;
	bs->SetWatchdogTimer(0, 0, 0, NULL);
	say("\n" BANNER "\n");

	struct boot_info *bi = pool_alloc(sizeof(*bi));
	if (!bi) {
		say("boot: out of memory\n");
		return EFI_OUT_OF_RESOURCES;
	}
	uint8_t *z = (uint8_t *)bi;
	for (size_t i = 0; i < sizeof(*bi); i++)
		z[i] = 0;
	bi->tsc_at_entry = t0;
	bi->runtime_services = systab->RuntimeServices;

	EFI_GUID li_guid = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li;
	if (bs->HandleProtocol(image, &li_guid, (void **)&li) == EFI_SUCCESS) {
		bi->image_base = (uint64_t)(uintptr_t)li->ImageBase;
		bi->image_size = li->ImageSize;
		load_cmdline(li, bi);
		load_volume(li, bi);
	}
	find_rsdp(bi);
	bi->tsc_hint_hz = tsc_hint();
	find_framebuffer(bi);

	say("boot: leaving UEFI boot services\n");
	EFI_STATUS s = exit_boot(image, bi);
	if (s != EFI_SUCCESS) {
		com1_puts("boot: ExitBootServices failed\n");
		return s;
	}
	kernel_main(bi);
}
