using System.Runtime.InteropServices;

namespace MnistNet.LinearAlgebra;

/// <summary>Operating-system hints for large matrix buffers.</summary>
internal static partial class NativeMemoryHints
{
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE
    private const long HugePageSize = 2 * 1024 * 1024;

    /// <summary>Buffers at least this large are worth backing with 2 MB pages.</summary>
    public const long Threshold = 8 * HugePageSize;

    // Stryker disable once all : whether the hint is tried changes no value (see RequestHugePages)
    private static bool s_unavailable = !OperatingSystem.IsLinux();

    /// <summary>
    /// On Linux, asks for transparent huge pages over the 2 MB-aligned interior of [address, address + length):
    /// streaming kernels walk rows that are far apart, and 4 KB pages make every row a TLB miss. Best effort: any
    /// failure (no libc, THP disabled) is ignored and never affects results.
    /// </summary>
    public static unsafe void RequestHugePages(void* address, long length)
    {
        // Stryker disable all : a hint to the kernel only: whether and over which range it is given changes no value (madvise's errors are ignored; every kernel's result is checked against its reference with and without it)
        if (s_unavailable || length < Threshold)
        {
            return;
        }

        long start = ((long)address + HugePageSize - 1) & ~(HugePageSize - 1);
        long end = ((long)address + length) & ~(HugePageSize - 1);
        if (end <= start)
        {
            return;
        }

        try
        {
            _ = Madvise((nint)start, (nuint)(end - start), MadviseHugePage);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
        }

        // Stryker restore all
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
