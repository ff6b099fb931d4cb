# Skiff: one flat Makefile.
#   make            build the UEFI image (build/skiff.img)
#   make run        boot it in QEMU (NIC=e1000|e1000e|igb|virtio, NET=user|tap|none)
#   make test       host unit tests (ASan+UBSan), then system tests in QEMU
#   make bench      benchmarks (prints numbers, asserts nothing)
#   make deps       install the Debian packages all of the above need

NIC ?= virtio
NET ?= user
BUILD := build
HOSTCC ?= gcc
PYTHON := /usr/bin/python3

# ---- sources, by folder (the folder names are the architecture) ---------------------
BOOT_SRCS := boot/efi_main.c
LIB_SRCS := lib/fmt.c lib/string.c
KERNEL_SRCS := kernel/main.c kernel/loop.c kernel/cmds.c kernel/console.c \
	kernel/conf.c kernel/time.c kernel/gdt.c kernel/trap.c kernel/pmm.c kernel/paging.c \
	kernel/heap.c kernel/dma.c kernel/acpi.c kernel/apic.c kernel/power.c kernel/shell.c \
	kernel/panic.c kernel/backtrace.c kernel/random.c kernel/rtc.c kernel/fbcon.c kernel/main_net.c
KERNEL_ASM := kernel/isr.asm
DRIVER_SRCS := drivers/uart.c drivers/driver.c drivers/pci.c drivers/nic.c drivers/e1000.c drivers/intel_stats.c drivers/e1000_offload.c drivers/e1000_pch.c drivers/nic_test.c drivers/igb.c drivers/virtio.c \
	drivers/virtio_net.c drivers/virtio_rng.c
NET_SRCS := net/core.c net/trace.c net/netdev.c net/checksum.c net/pkt.c net/inet.c net/stats.c \
	net/eth.c net/arp_wire.c net/ipv4_wire.c net/icmp_wire.c net/udp_wire.c net/dhcp_wire.c \
	net/link.c net/gso.c net/qdisc.c net/dql.c net/neigh.c net/arp.c \
	net/route.c net/ipv4.c net/ipv4_frag.c net/icmp.c \
	net/udp.c net/transport.c net/gro.c \
	net/dhcp.c net/syslog.c net/ping.c net/cmd_util.c net/cmd_ip.c net/cmd.c net/stack.c \
	net/http_parse.c net/http_server.c net/http_site.c net/http_endpoints.c net/http_app.c
NET_SRCS += net/tcp_wire.c net/tcp.c net/tcp_stack.c net/tcp_table.c net/tcp_event.c net/tcp_sendq.c net/tcp_in.c net/tcp_out.c net/tcp_timer.c net/tcp_cc.c \
	net/tcp_sack.c net/tcp_listen.c net/tcp_isn.c net/tcp_show.c
NET_SRCS += net/fq_codel.c net/pkt_filter.c net/pcapng.c net/pkt_print.c net/capture.c net/cmd_capture.c net/http_debug.c net/tracepath.c

# Hardware-free code that the host unit tests compile natively.
HOST_SRCS := lib/fmt.c kernel/conf.c kernel/heap.c kernel/pmm.c $(NET_SRCS)
# Driver code whose register access goes through a pointer the tests aim at a fake.
HOST_SRCS += drivers/e1000_pch.c drivers/e1000_offload.c drivers/nic_test.c
UNIT_SRCS := tests/unit/main.c tests/unit/test_fmt.c tests/unit/test_conf.c \
	tests/unit/test_heap.c tests/unit/test_pmm.c
UNIT_SRCS += tests/unit/test_http_parse.c tests/unit/test_http_server.c $(BUILD)/gen/www_data.c
UNIT_SRCS += tests/unit/fake_netdev.c tests/unit/test_net_pkt.c tests/unit/test_net_wire.c \
	tests/unit/test_net_neigh.c tests/unit/test_net_route.c tests/unit/test_net_icmp.c \
	tests/unit/test_net_udp.c tests/unit/test_net_stack.c tests/unit/test_net_wake.c tests/unit/test_net_dhcp.c \
	tests/unit/test_net_qdisc.c tests/unit/test_net_dql.c tests/unit/test_net_pair.c tests/unit/test_net_cmd.c
UNIT_SRCS += tests/unit/test_net_hardening.c tests/unit/test_net_frag.c tests/unit/test_net_gso.c tests/unit/test_tcp_gso.c tests/unit/test_tcp_gro.c tests/unit/test_tcp_gro_chain.c \
	tests/unit/test_net_capture.c tests/unit/test_http_debug.c
UNIT_SRCS += tests/unit/test_e1000_pch.c tests/unit/test_e1000_offload.c tests/unit/test_net_syslog.c
UNIT_SRCS += tests/unit/test_tcp_harness.c tests/unit/test_tcp_wire.c tests/unit/test_tcp_conn.c \
	tests/unit/test_tcp_data.c tests/unit/test_tcp_predict.c tests/unit/test_tcp_rtx.c tests/unit/test_tcp_pacing.c tests/unit/test_tcp_listen.c \
	tests/unit/test_tcp_link.c tests/unit/test_tcp_show.c tests/unit/test_tcp_harden.c tests/unit/test_tcp_conn7.c \
	tests/unit/test_http_app.c
UNIT_SRCS += tests/unit/test_net_checksum.c tests/unit/test_net_bench.c tests/bench/bench_pair.c tests/bench/memlink.c
UNIT_SRCS += tests/unit/test_net_fq_codel.c tests/unit/test_net_pkt_filter.c tests/unit/test_net_pcapng.c \
	tests/unit/test_net_pkt_print.c
UNIT_SRCS += tests/unit/test_review_frag.c tests/unit/test_review_icmp.c tests/unit/test_review_gso.c \
	tests/unit/test_review_neigh.c tests/unit/test_review_ipout.c tests/unit/test_review_flood.c \
	tests/unit/test_review_fastpath.c tests/unit/test_review_fastpath2.c \
	tests/unit/test_review_sg.c tests/unit/test_net_dst.c \
	tests/unit/test_review_round6.c tests/unit/test_review_deadline.c \
	tests/unit/test_review_round7a.c \
	tests/unit/test_review_round7b.c tests/unit/test_review_round8a.c
UNIT_SRCS += tests/unit/test_review_round8b.c $(BUILD)/host/kc_checksum.o
UNIT_SRCS += tests/unit/test_tcp_sgcopy.c tests/unit/sg_pair.c

# ---- image build: gcc + GNU-EFI + nasm ---------------------------------------------
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -I. \
	-ffreestanding -fno-stack-protector -fno-strict-aliasing -fno-omit-frame-pointer \
	-fpic -fshort-wchar -mno-red-zone -mgeneral-regs-only -fno-builtin-printf \
	-DGNU_EFI_USE_MS_ABI -I$(EFI_INC) -I$(EFI_INC)/x86_64
LDFLAGS := -nostdlib -znocombreloc -T linker.ld -shared -Bsymbolic --no-undefined
OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(BOOT_SRCS) $(LIB_SRCS) $(KERNEL_SRCS) $(DRIVER_SRCS) $(NET_SRCS)) \
	$(patsubst %.asm,$(BUILD)/obj/%.o,$(KERNEL_ASM))
# www/ compiled in as a generated source (scripts/embed_www.py); never in git.
OBJS += $(BUILD)/obj/$(BUILD)/gen/www_data.o
# The framebuffer console's 8x16 font, from a Debian console font (scripts/gen_font.py
# names it and its license); generated, never in git.
FONT_PSF ?= /usr/share/consolefonts/Lat15-VGA16.psf.gz
OBJS += $(BUILD)/obj/$(BUILD)/gen/font.o

.PHONY: all image run test unit systest bench fuzz fuzz-http deps clean depgraph soak libvirt-check
all: image
image: $(BUILD)/skiff.img

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.asm
	@mkdir -p $(dir $@)
	@echo "  NASM    $<"
	@nasm -f elf64 -g -o $@ $<

$(BUILD)/gen/www_data.c: scripts/embed_www.py www $(shell find www -type f 2>/dev/null)
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/embed_www.py www $@

$(BUILD)/gen/font.c: scripts/gen_font.py $(FONT_PSF)
	@mkdir -p $(dir $@)
	$(PYTHON) scripts/gen_font.py $(FONT_PSF) $@

$(BUILD)/skiff.so: $(OBJS) linker.ld
	@echo "  LD      $@"
	@ld $(LDFLAGS) $(EFI_LIB)/crt0-efi-x86_64.o $(OBJS) -o $@ -L$(EFI_LIB) -lgnuefi

$(BUILD)/esp/EFI/BOOT/BOOTX64.EFI: $(BUILD)/skiff.so
	@mkdir -p $(dir $@)
	@echo "  EFI     $@"
	@objcopy -j .text -j .rodata -j .sdata -j .data -j .dynamic -j .dynsym -j .rel \
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

# The image's lib/string.c exactly as the image compiles it (CFLAGS, no SKIFF_HOSTED),
# its symbols renamed sk_* so the host tests can compare it with libc
# (tests/unit/test_review_fastpath.c).
SK_STRING_SYMS := memcpy memmove memset memcmp memchr strlen strcmp strncmp
$(BUILD)/host/sk_string.o: lib/string.c lib/string.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c lib/string.c -o $@.tmp
	objcopy $(foreach s,$(SK_STRING_SYMS),--redefine-sym $(s)=sk_$(s)) $@.tmp $@
	@rm -f $@.tmp

# The image's net/checksum.c exactly as the image compiles it (CFLAGS: freestanding,
# -mgeneral-regs-only, -mno-red-zone, -fpic, -O2), csum_* renamed kc_csum_* so the
# host tests check the asm the kernel runs (tests/unit/test_review_round8b.c).
$(BUILD)/host/kc_checksum.o: net/checksum.c net/checksum.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c net/checksum.c -o $@.tmp
	objcopy --redefine-sym csum_partial=kc_csum_partial --redefine-sym csum_copy=kc_csum_copy $@.tmp $@
	@rm -f $@.tmp

# Headers too: a header-only change must rebuild the test binary (it is one compile).
HOST_HDRS := $(wildcard lib/*.h kernel/*.h net/*.h drivers/*.h tests/unit/*.h tests/bench/*.h)
$(BUILD)/host/unit: $(HOST_SRCS) $(UNIT_SRCS) $(BUILD)/host/sk_string.o $(HOST_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_SRCS) $(UNIT_SRCS) $(BUILD)/host/sk_string.o -o $@

unit: $(BUILD)/host/unit
	$(BUILD)/host/unit

# libFuzzer over http_conn_input (clang 14 + libclang-rt-14-dev); new inputs go to build/.
HTTP_FUZZ_SECONDS ?= 60
HTTP_FUZZ_SRCS := tests/fuzz/fuzz_http.c net/http_parse.c net/http_server.c net/http_site.c net/http_endpoints.c lib/fmt.c
$(BUILD)/fuzz/fuzz_http: $(HTTP_FUZZ_SRCS) $(wildcard net/http_*.h)
	@mkdir -p $(dir $@)
	clang-14 -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(HTTP_FUZZ_SRCS) -o $@

fuzz-http: $(BUILD)/fuzz/fuzz_http
	@mkdir -p $(BUILD)/fuzz/corpus-http
	$< -max_total_time=$(HTTP_FUZZ_SECONDS) -max_len=20000 $(BUILD)/fuzz/corpus-http tests/fuzz/corpus/http

fuzz: fuzz-http

# libFuzzer over net_input: raw frames into two whole stacks (tests/fuzz/fuzz_rx.c).
# `fuzz` runs it RX_FUZZ_SECONDS, `fuzz-smoke` (part of `make test`) about 20 s.
RX_FUZZ_SECONDS ?= 300
RX_FUZZ_SRCS := tests/fuzz/fuzz_rx.c tests/unit/fake_netdev.c lib/fmt.c \
	$(filter-out net/http_%,$(NET_SRCS))
$(BUILD)/fuzz/fuzz_rx: $(RX_FUZZ_SRCS) $(wildcard net/*.h) tests/unit/fake_netdev.h
	@mkdir -p $(dir $@)
	clang-14 -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(RX_FUZZ_SRCS) -o $@

.PHONY: fuzz-rx fuzz-smoke
fuzz-rx: $(BUILD)/fuzz/fuzz_rx
	@mkdir -p $(BUILD)/fuzz/corpus-rx
	$< -max_total_time=$(RX_FUZZ_SECONDS) -max_len=2048 -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus-rx tests/fuzz/corpus/rx

# libFuzzer over IPv4 reassembly: scripts of fragments with an exact byte oracle.
REASM_FUZZ_SECONDS ?= 300
REASM_FUZZ_SRCS := tests/fuzz/fuzz_reasm.c tests/unit/fake_netdev.c lib/fmt.c \
	$(filter-out net/http_%,$(NET_SRCS))
$(BUILD)/fuzz/fuzz_reasm: $(REASM_FUZZ_SRCS) $(wildcard net/*.h) tests/unit/fake_netdev.h
	@mkdir -p $(dir $@)
	clang-14 -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(REASM_FUZZ_SRCS) -o $@

.PHONY: fuzz-reasm
fuzz-reasm: $(BUILD)/fuzz/fuzz_reasm
	@mkdir -p $(BUILD)/fuzz/corpus-reasm
	$< -max_total_time=$(REASM_FUZZ_SECONDS) -max_len=1200 -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus-reasm tests/fuzz/corpus/reasm

fuzz: fuzz-reasm

fuzz-smoke:
	$(MAKE) fuzz-reasm REASM_FUZZ_SECONDS=15
	$(MAKE) fuzz-rx RX_FUZZ_SECONDS=20
	$(MAKE) fuzz-http HTTP_FUZZ_SECONDS=15

fuzz: fuzz-rx

# libFuzzer over the capture filter: the expression compiler and frame matching.
FILTER_FUZZ_SECONDS ?= 60
$(BUILD)/fuzz/fuzz_filter_%: tests/fuzz/fuzz_filter_%.c net/pkt_filter.c net/pkt_filter.h lib/fmt.c
	@mkdir -p $(dir $@)
	clang-14 -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $< net/pkt_filter.c lib/fmt.c -o $@

.PHONY: fuzz-filter fuzz-filter-smoke
fuzz-filter: $(BUILD)/fuzz/fuzz_filter_expr $(BUILD)/fuzz/fuzz_filter_match
	@mkdir -p $(BUILD)/fuzz/corpus-filter-expr $(BUILD)/fuzz/corpus-filter-match
	$(BUILD)/fuzz/fuzz_filter_expr -max_total_time=$(FILTER_FUZZ_SECONDS) -max_len=512 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-filter-expr tests/fuzz/corpus/filter-expr
	$(BUILD)/fuzz/fuzz_filter_match -max_total_time=$(FILTER_FUZZ_SECONDS) -max_len=256 \
		-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-filter-match tests/fuzz/corpus/filter-match

fuzz-filter-smoke:
	$(MAKE) fuzz-filter FILTER_FUZZ_SECONDS=10

fuzz: fuzz-filter
fuzz-smoke: fuzz-filter-smoke

# libFuzzer over the tcpdump-style printer.
PRINT_FUZZ_SECONDS ?= 60
PRINT_FUZZ_SRCS := tests/fuzz/fuzz_pkt_print.c net/pkt_print.c net/checksum.c lib/fmt.c
$(BUILD)/fuzz/fuzz_pkt_print: $(PRINT_FUZZ_SRCS) net/pkt_print.h
	@mkdir -p $(dir $@)
	clang-14 -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(PRINT_FUZZ_SRCS) -o $@

.PHONY: fuzz-print fuzz-print-smoke
fuzz-print: $(BUILD)/fuzz/fuzz_pkt_print
	@mkdir -p $(BUILD)/fuzz/corpus-print
	$< -max_total_time=$(PRINT_FUZZ_SECONDS) -max_len=2048 -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus-print tests/fuzz/corpus/print tests/fuzz/corpus/filter-match

fuzz-print-smoke:
	$(MAKE) fuzz-print PRINT_FUZZ_SECONDS=10

fuzz: fuzz-print
fuzz-smoke: fuzz-print-smoke

# libFuzzer over tcp_input: segments into an ESTABLISHED connection (tests/fuzz/fuzz_tcp.c).
TCP_FUZZ_SECONDS ?= 300
TCP_FUZZ_SRCS := tests/fuzz/fuzz_tcp.c lib/fmt.c net/pkt.c net/checksum.c net/gro.c $(filter net/tcp%,$(NET_SRCS))
$(BUILD)/fuzz/fuzz_tcp: $(TCP_FUZZ_SRCS) $(wildcard net/tcp*.h) net/pkt.h net/gro.h
	@mkdir -p $(dir $@)
	clang-14 -std=c11 -Wall -Wextra -Werror -g -O1 -I. -DSKIFF_HOSTED \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(TCP_FUZZ_SRCS) -o $@

.PHONY: fuzz-tcp fuzz-tcp-smoke bench-host
fuzz-tcp: $(BUILD)/fuzz/fuzz_tcp
	@mkdir -p $(BUILD)/fuzz/corpus-tcp
	$< -max_total_time=$(TCP_FUZZ_SECONDS) -max_len=4096 $(BUILD)/fuzz/corpus-tcp tests/fuzz/corpus/tcp

fuzz-tcp-smoke:
	$(MAKE) fuzz-tcp TCP_FUZZ_SECONDS=20

fuzz: fuzz-tcp
fuzz-smoke: fuzz-tcp-smoke

# Host benchmarks. net_bench (make bench-host): two full stacks over an in-memory NIC pair,
# wall time and callgrind instruction counts beside issue 11's targets; prints numbers.
NET_BENCH_SRCS := tests/bench/net_bench.c tests/bench/bench_pair.c tests/bench/memlink.c lib/fmt.c \
	$(filter-out net/http_%,$(NET_SRCS))
$(BUILD)/host/net_bench: $(NET_BENCH_SRCS) $(wildcard net/*.h tests/bench/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=c11 -Wall -Wextra -Werror -O2 -g -I. -DSKIFF_HOSTED $(NET_BENCH_SRCS) -o $@

# tcp_bench (make bench-tcp): TCP alone, IP and Ethernet skipped; kept for the copy versus
# zero-copy (tcp_send_ref, tcp_recv_peek) comparison net_bench does not make.
TCP_BENCH_SRCS := tests/bench/tcp_bench.c lib/fmt.c net/pkt.c net/checksum.c net/gro.c $(filter net/tcp%,$(NET_SRCS))
$(BUILD)/host/tcp_bench: $(TCP_BENCH_SRCS) $(wildcard net/tcp*.h) net/pkt.h net/gro.h
	@mkdir -p $(dir $@)
	$(HOSTCC) -std=c11 -Wall -Wextra -Werror -O2 -g -I. -DSKIFF_HOSTED $(TCP_BENCH_SRCS) -o $@

.PHONY: bench-tcp
bench-host: $(BUILD)/host/net_bench
	$< --out $(BUILD)/bench

bench-tcp: $(BUILD)/host/tcp_bench
	$<

systest: deps image
	$(PYTHON) -m pytest -v tests/system

# The include/call graph against the floors of docs/architecture.md: fails on an upward
# arrow or a circle (reads the image's objects with nm).
depgraph: image
	$(PYTHON) scripts/depgraph.py

# The libvirt domain example of docs/ against libvirt's own schema (libvirt-clients).
LIBVIRT_XML := $(wildcard docs/libvirt/*.xml)
libvirt-check:
	@for f in $(LIBVIRT_XML); do virt-xml-validate $$f domain || exit 1; done

test: deps
	$(MAKE) depgraph
	$(MAKE) libvirt-check
	$(MAKE) unit
	$(MAKE) fuzz-smoke
	$(MAKE) systest

# 20 minutes (SOAK_SECONDS) of mixed legitimate and hostile traffic against one guest;
# not part of `make test`. Prints requests served, errors and memory levels.
soak: deps image
	$(PYTHON) scripts/soak.py

bench: deps image
	$(PYTHON) scripts/bench.py
	$(MAKE) bench-host

deps:
	@scripts/deps.sh

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d)
