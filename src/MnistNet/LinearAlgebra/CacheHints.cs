using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace MnistNet.LinearAlgebra;

/// <summary>Hints to the memory system: which lines a loop will soon read. A hint never faults and never changes a value.</summary>
internal static class CacheHints
{
    // Stryker disable all : hints only: which lines are asked for changes no value (a hint never faults)

    /// <summary>
    /// Asks for the cache line holding <paramref name="location"/> (a no-op without SSE). The address may lie past the end
    /// of a buffer: a hint never faults (matrix buffers are pinned, so the address stays the buffer's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Prefetch<TElement>(ref TElement location)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref location));
        }
    }

    /// <summary>Asks for the cache lines of <paramref name="count"/> elements from <paramref name="first"/> (a no-op without SSE).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void PrefetchRange<TElement>(ref TElement first, nint count)
        where TElement : unmanaged
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        ref byte start = ref Unsafe.As<TElement, byte>(ref first);
        for (nint offset = 0; offset < count * sizeof(TElement); offset += 64)
        {
            Prefetch(ref Unsafe.Add(ref start, offset));
        }
    }

    // Stryker restore all
}
