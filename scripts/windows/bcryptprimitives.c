/*
 * Stand-in for bcryptprimitives.dll, used only by scripts/windows-check.sh.
 *
 * Rust's std on Windows imports ProcessPrng from bcryptprimitives.dll, which
 * Debian's Wine 8 does not ship, so the loader refuses to start the exe. Real
 * Windows (10 and later) has this DLL: never ship this file with Reddish.
 *
 * The bytes come from RtlGenRandom (exported by advapi32 as SystemFunction036),
 * the system CSPRNG, so HashMap seeds and the like stay unpredictable.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* STATUS_INTERNAL_ERROR: windows.h only declares it with ntstatus.h, which clashes. */
#define RNG_FAILURE_EXIT_CODE 0xC00000E5u

/*
 * ProcessPrng is documented to always return TRUE and callers (Rust's std)
 * ignore the result, so failing to fill the buffer must not return quietly
 * with predictable bytes: the process is terminated instead.
 */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a ULONG length, narrower than SIZE_T on x64. */
    const SIZE_T max_chunk = 0x40000000;
    while (length > 0) {
        ULONG chunk = (ULONG)(length < max_chunk ? length : max_chunk);
        if (!SystemFunction036(data, chunk)) {
            TerminateProcess(GetCurrentProcess(), RNG_FAILURE_EXIT_CODE);
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
