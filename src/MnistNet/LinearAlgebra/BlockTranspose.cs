using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// <c>dst[c, r] = factor · src[r, c]</c> for a rows × columns block of strided storage: 8 × 8 tiles in AVX registers for
/// float (unpack, shuffle, lane permute), then the last columns and rows two at a time (8 × 2 and 2 × 8 as 64-bit pairs),
/// a blocked scalar loop otherwise and on the scalar path. Every element is copied
/// (or multiplied once), so every path gives the same bits.
/// </summary>
internal static class BlockTranspose
{
    private const int Tile = 8;

    public static void Run<T>(ref T src, nint srcStride, int rows, int columns, ref T dst, nint dstStride, T factor, bool scale, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int r = 0;

        // Stryker disable once Equality : the AVX tiles and the scalar loop give the same bits (a transpose, times an exactly rounded factor)
        if (typeof(T) == typeof(float) && Avx.IsSupported && path != SimdPath.Scalar)
        {
            ref float s = ref Unsafe.As<T, float>(ref src);
            ref float d = ref Unsafe.As<T, float>(ref dst);
            Vector256<float> f = Vector256.Create(Unsafe.As<T, float>(ref factor));
            for (; r + Tile <= rows; r += Tile)
            {
                int c = 0;

                // Stryker disable once Equality : a last full tile left to the scalar remainder gives the same values
                for (; c + Tile <= columns; c += Tile)
                {
                    Tile8(ref Unsafe.Add(ref s, (r * srcStride) + c), srcStride, ref Unsafe.Add(ref d, (c * dstStride) + r), dstStride, f, scale);
                }

                // The last columns two at a time (the seed's hidden 10 = 8 + 2).
                // Stryker disable once Equality : a pair left to the scalar remainder gives the same values
                for (; Avx2.IsSupported && c + 2 <= columns; c += 2)
                {
                    ColumnPair8(ref Unsafe.Add(ref s, (r * srcStride) + c), srcStride, ref Unsafe.Add(ref d, (c * dstStride) + r), dstStride, f, scale);
                }

                Scalar(ref Unsafe.Add(ref src, r * srcStride), srcStride, Tile, c, columns, ref Unsafe.Add(ref dst, r), dstStride, factor, scale);
            }

            // The last rows two at a time, eight columns at once.
            // Stryker disable once Equality : a pair left to the scalar remainder gives the same values
            for (; r + 2 <= rows; r += 2)
            {
                int c = 0;

                // Stryker disable once Equality : a last group of eight left to the scalar remainder gives the same values
                for (; c + Tile <= columns; c += Tile)
                {
                    RowPair8(ref Unsafe.Add(ref s, (r * srcStride) + c), srcStride, ref Unsafe.Add(ref d, (c * dstStride) + r), dstStride, f, scale);
                }

                Scalar(ref Unsafe.Add(ref src, r * srcStride), srcStride, 2, c, columns, ref Unsafe.Add(ref dst, r), dstStride, factor, scale);
            }
        }

        // Stryker disable once Equality : with r = rows the remainder has no rows
        if (r < rows)
        {
            Scalar(ref Unsafe.Add(ref src, r * srcStride), srcStride, rows - r, 0, columns, ref Unsafe.Add(ref dst, r), dstStride, factor, scale);
        }
    }

    /// <summary>Rows [0, rows) and columns [c0, c1) of src, in blocks of 16 columns so both sides stay in L1.</summary>
    private static void Scalar<T>(ref T src, nint srcStride, int rows, int c0, int c1, ref T dst, nint dstStride, T factor, bool scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Stryker disable once Equality : a pass with k0 = c1 has no columns
        for (int k0 = c0; k0 < c1; k0 += 16)
        {
            int k1 = Math.Min(k0 + 16, c1);
            for (int r = 0; r < rows; r++)
            {
                ref T row = ref Unsafe.Add(ref src, r * srcStride);
                for (int c = k0; c < k1; c++)
                {
                    T value = Unsafe.Add(ref row, c);
                    // Stryker disable once Conditional : every caller that does not scale passes a factor of 1
                    Unsafe.Add(ref dst, (c * dstStride) + r) = scale ? value * factor : value;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile8(ref float s, nint ss, ref float d, nint ds, Vector256<float> factor, bool scale)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref s);
        Vector256<float> r1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, ss));
        Vector256<float> r2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 2 * ss));
        Vector256<float> r3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 3 * ss));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 4 * ss));
        Vector256<float> r5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 5 * ss));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 6 * ss));
        Vector256<float> r7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, 7 * ss));

        Vector256<float> t0 = Avx.UnpackLow(r0, r1);
        Vector256<float> t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3);
        Vector256<float> t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5);
        Vector256<float> t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7);
        Vector256<float> t7 = Avx.UnpackHigh(r6, r7);

        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44);
        Vector256<float> u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44);
        Vector256<float> u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44);
        Vector256<float> u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44);
        Vector256<float> u7 = Avx.Shuffle(t5, t7, 0xEE);

        Store(Avx.Permute2x128(u0, u4, 0x20), ref d, factor, scale);
        Store(Avx.Permute2x128(u1, u5, 0x20), ref Unsafe.Add(ref d, ds), factor, scale);
        Store(Avx.Permute2x128(u2, u6, 0x20), ref Unsafe.Add(ref d, 2 * ds), factor, scale);
        Store(Avx.Permute2x128(u3, u7, 0x20), ref Unsafe.Add(ref d, 3 * ds), factor, scale);
        Store(Avx.Permute2x128(u0, u4, 0x31), ref Unsafe.Add(ref d, 4 * ds), factor, scale);
        Store(Avx.Permute2x128(u1, u5, 0x31), ref Unsafe.Add(ref d, 5 * ds), factor, scale);
        Store(Avx.Permute2x128(u2, u6, 0x31), ref Unsafe.Add(ref d, 6 * ds), factor, scale);
        Store(Avx.Permute2x128(u3, u7, 0x31), ref Unsafe.Add(ref d, 7 * ds), factor, scale);
    }

    /// <summary>Columns c, c + 1 of eight rows (eight 64-bit pairs) into rows c, c + 1 of dst, eight elements each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ColumnPair8(ref float s, nint ss, ref float d, nint ds, Vector256<float> factor, bool scale)
    {
        ref byte bytes = ref Unsafe.As<float, byte>(ref s);
        nint step = ss * sizeof(float);
        Vector256<float> low = Vector256.Create(
            Unsafe.ReadUnaligned<double>(ref bytes),
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, step)),
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, 2 * step)),
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, 3 * step))).AsSingle();
        Vector256<float> high = Vector256.Create(
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, 4 * step)),
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, 5 * step)),
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, 6 * step)),
            Unsafe.ReadUnaligned<double>(ref Unsafe.Add(ref bytes, 7 * step))).AsSingle();

        // Even elements (column c) and odd (column c + 1) of the eight pairs, then the 64-bit lanes back in row order.
        Vector256<float> first = Avx2.Permute4x64(Avx.Shuffle(low, high, 0x88).AsDouble(), 0xD8).AsSingle();
        Vector256<float> second = Avx2.Permute4x64(Avx.Shuffle(low, high, 0xDD).AsDouble(), 0xD8).AsSingle();
        Store(first, ref d, factor, scale);
        Store(second, ref Unsafe.Add(ref d, ds), factor, scale);
    }

    /// <summary>Eight columns of two rows into eight rows of dst, two elements (64 bits) each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowPair8(ref float s, nint ss, ref float d, nint ds, Vector256<float> factor, bool scale)
    {
        Vector256<float> a = Vector256.LoadUnsafe(ref s);
        Vector256<float> b = Vector256.LoadUnsafe(ref Unsafe.Add(ref s, ss));

        // Stryker disable once Conditional : every caller that does not scale passes a factor of 1
        if (scale)
        {
            a *= factor;
            b *= factor;
        }

        // (a0 b0 a1 b1 | a4 b4 a5 b5) and (a2 b2 a3 b3 | a6 b6 a7 b7): pair k of column c + k is one 64-bit lane.
        Vector256<double> low = Avx.UnpackLow(a, b).AsDouble();
        Vector256<double> high = Avx.UnpackHigh(a, b).AsDouble();
        ref byte target = ref Unsafe.As<float, byte>(ref d);
        nint step = ds * sizeof(float);
        Unsafe.WriteUnaligned(ref target, low.GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, step), low.GetElement(1));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, 2 * step), high.GetElement(0));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, 3 * step), high.GetElement(1));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, 4 * step), low.GetElement(2));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, 5 * step), low.GetElement(3));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, 6 * step), high.GetElement(2));
        Unsafe.WriteUnaligned(ref Unsafe.Add(ref target, 7 * step), high.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector256<float> value, ref float destination, Vector256<float> factor, bool scale) =>

        // Stryker disable once Conditional : every caller that does not scale passes a factor of 1
        (scale ? value * factor : value).StoreUnsafe(ref destination);
}
