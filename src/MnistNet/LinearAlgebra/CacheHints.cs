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

    /// <summary>
    /// Asks for the lines of columns [<paramref name="c0"/>, <paramref name="c1"/>) of every row of <paramref name="m"/>
    /// to be brought into the second-level cache (a no-op without SSE): a block that is about to be written for the first
    /// time then finds its lines there instead of waiting for memory at each store.
    /// </summary>
    public static unsafe void PrefetchColumnsL2<T>(Matrix<T> m, int c0, int c1)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        if (!Sse.IsSupported || c1 <= c0)
        {
            return;
        }

        nint bytes = (nint)(c1 - c0) * sizeof(T);
        for (int r = 0; r < m.Rows; r++)
        {
            ref byte start = ref Unsafe.As<T, byte>(ref m.Row(r)[c0]);
            for (nint offset = 0; offset < bytes; offset += 64)
            {
                Sse.Prefetch1(Unsafe.AsPointer(ref Unsafe.Add(ref start, offset)));
            }
        }
    }

    // Stryker restore all
}
