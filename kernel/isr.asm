; Interrupt and exception entry stubs. One 16-byte stub per vector, so kernel/trap.c
; computes stub i's address as isr_stubs + 16*i (no relocations needed in this PIC image).
; Each stub pushes a dummy error code where the CPU pushes none (SDM Vol. 3 §6.15),
; then the vector, and jumps to the common path that saves all general registers in the
; layout of struct trap_frame and calls trap_dispatch(frame).
bits 64
default rel
section .text

extern trap_dispatch
global isr_stubs

%macro STUB 1
	align 16
%if %1 == 8 || (%1 >= 10 && %1 <= 14) || %1 == 17 || %1 == 21 || %1 == 29 || %1 == 30
%else
	push qword 0
%endif
	push qword %1
	jmp isr_common
%endmacro

	align 16
isr_stubs:
%assign vec 0
%rep 256
	STUB vec
%assign vec vec + 1
%endrep

isr_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	; The CPU aligned RSP to 16 before its 5-word frame; 2 + 15 words keep it aligned.
	mov rdi, rsp
	cld
	call trap_dispatch
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16
	iretq

; void gdt_load(const void *gdtr, uint16_t code_sel, uint16_t data_sel, uint16_t tss_sel)
global gdt_load
gdt_load:
	lgdt [rdi]
	mov ds, dx
	mov es, dx
	mov ss, dx
	xor eax, eax
	mov fs, ax
	mov gs, ax
	ltr cx
	; Reload CS with a far return to the next instruction.
	lea rax, [rel .reloaded]
	push rsi
	push rax
	retfq
.reloaded:
	ret

; void stack_switch(uint64_t new_rsp, void (*fn)(void *), void *arg) -- never returns
global stack_switch
stack_switch:
	mov rsp, rdi
	xor ebp, ebp            ; ends frame-pointer backtraces here
	mov rdi, rdx
	call rsi
.hang:
	cli
	hlt
	jmp .hang

section .note.GNU-stack noalloc noexec nowrite progbits
