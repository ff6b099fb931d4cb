# Skiff: one flat Makefile.
#   make            build the UEFI image (build/skiff.img)
#   make run        boot it in QEMU (NIC=e1000|e1000e|virtio, NET=user|tap|none)
#   make test       host unit tests (ASan+UBSan), then system tests in QEMU
#   make bench      benchmarks (prints numbers, asserts nothing)
#   make deps       install the Debian packages all of the above need

NIC ?= e1000
NET ?= user
BUILD := build
HOSTCC ?= gcc
PYTHON := /usr/bin/python3

# ---- sources, by folder (the folder names are the architecture) ---------------------
BOOT_SRCS := boot/efi_main.c
KERNEL_SRCS := kernel/main.c kernel/cmds.c kernel/console.c kernel/fmt.c kernel/string.c \
	kernel/conf.c kernel/time.c kernel/gdt.c kernel/trap.c kernel/pmm.c kernel/paging.c \
	kernel/heap.c kernel/dma.c kernel/acpi.c kernel/apic.c kernel/power.c kernel/shell.c \
	kernel/panic.c kernel/random.c kernel/rtc.c
KERNEL_ASM := kernel/isr.asm
DRIVER_SRCS := drivers/uart.c drivers/pci.c drivers/nic.c drivers/e1000.c drivers/virtio.c \
	drivers/virtio_net.c
NET_SRCS := net/netdev.c net/checksum.c net/pkt.c

# Hardware-free code that the host unit tests compile natively.
HOST_SRCS := kernel/fmt.c kernel/conf.c kernel/heap.c kernel/pmm.c $(NET_SRCS)
UNIT_SRCS := tests/unit/main.c tests/unit/test_fmt.c tests/unit/test_conf.c \
	tests/unit/test_heap.c tests/unit/test_pmm.c

# ---- image build: gcc + GNU-EFI + nasm ---------------------------------------------
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -I. \
	-ffreestanding -fno-stack-protector -fno-strict-aliasing -fno-omit-frame-pointer \
	-fpic -fshort-wchar -mno-red-zone -mgeneral-regs-only -fno-builtin-printf \
	-DGNU_EFI_USE_MS_ABI -I$(EFI_INC) -I$(EFI_INC)/x86_64
LDFLAGS := -nostdlib -znocombreloc -T linker.ld -shared -Bsymbolic --no-undefined
OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(BOOT_SRCS) $(KERNEL_SRCS) $(DRIVER_SRCS) $(NET_SRCS)) \
	$(patsubst %.asm,$(BUILD)/obj/%.o,$(KERNEL_ASM))

.PHONY: all image run test unit systest bench fuzz deps clean
all: image
image: $(BUILD)/skiff.img

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.asm
	@mkdir -p $(dir $@)
	nasm -f elf64 -g -o $@ $<

$(BUILD)/skiff.so: $(OBJS) linker.ld
	ld $(LDFLAGS) $(EFI_LIB)/crt0-efi-x86_64.o $(OBJS) -o $@ -L$(EFI_LIB) -lgnuefi

$(BUILD)/esp/EFI/BOOT/BOOTX64.EFI: $(BUILD)/skiff.so
	@mkdir -p $(dir $@)
	objcopy -j .text -j .rodata -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
		-j .rela -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 \
		--subsystem=10 $< $@

$(BUILD)/esp/skiff.conf: skiff.conf
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/skiff.img: $(BUILD)/esp/EFI/BOOT/BOOTX64.EFI $(BUILD)/esp/skiff.conf scripts/mkimg.sh
	scripts/mkimg.sh $(BUILD)/esp $@

# ---- run ---------------------------------------------------------------------------
run: deps image
	NIC=$(NIC) NET=$(NET) scripts/run.sh

# ---- tests -------------------------------------------------------------------------
HOST_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

$(BUILD)/host/unit: $(HOST_SRCS) $(UNIT_SRCS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SRCS) $(UNIT_SRCS) -o $@

unit: $(BUILD)/host/unit
	$(BUILD)/host/unit

systest: deps image
	$(PYTHON) -m pytest -v tests/system

test: deps
	$(MAKE) unit
	$(MAKE) systest

bench: deps image
	$(PYTHON) scripts/bench.py

deps:
	@scripts/deps.sh

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d)
