//go:build !race

#include "textflag.h"

// func storeRelease(p *atomic.Int64, v int64)
// A plain MOV: on amd64 (TSO) every store is a release store. See release.go.
TEXT ·storeRelease(SB),NOSPLIT,$0-16
	MOVQ	p+0(FP), AX
	MOVQ	v+8(FP), BX
	MOVQ	BX, 0(AX)
	RET

// func storeRelease32(p *atomic.Int32, v int32)
TEXT ·storeRelease32(SB),NOSPLIT,$0-12
	MOVQ	p+0(FP), AX
	MOVL	v+8(FP), BX
	MOVL	BX, 0(AX)
	RET

// func fence()
// A locked no-op on the stack: a full barrier, cheaper than MFENCE, as the
// Linux kernel's smp_mb() does on x86.
TEXT ·fence(SB),NOSPLIT,$0-0
	LOCK
	ORQ	$0, 0(SP)
	RET
