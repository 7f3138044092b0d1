using System.Numerics;
using MnistNet.LinearAlgebra;
using MnistNet.Threading;

namespace MnistNet.Tests;

/// <summary>Helpers that make deterministic test inputs.</summary>
internal static class TestData
{
    /// <summary>The SIMD paths this processor runs: scalar always, 256- and 512-bit when accelerated.</summary>
    public static TheoryData<SimdPath> AcceleratedPaths()
    {
        var paths = new TheoryData<SimdPath> { SimdPath.Scalar };
        if (System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated)
        {
            paths.Add(SimdPath.Vector256);
        }

        if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
        {
            paths.Add(SimdPath.Vector512);
        }

        return paths;
    }

    public static Matrix<T> Random<T>(int rows, int columns, long seed, double min = -1, double max = 1)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Matrix<T>.RandomUniform(rows, columns, T.CreateTruncating(min), T.CreateTruncating(max), seed);

    public static ushort[] Labels(int count, int classes, long seed)
    {
        var random = new Prng(seed);
        ushort[] labels = new ushort[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (ushort)random.NextInt32(classes);
        }

        return labels;
    }

    /// <summary>Bitwise equality of two numbers (a NaN equals only a NaN of the same bits; 0 and −0 differ).</summary>
    public static bool SameBits<T>(T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in a)).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in b)));

    /// <summary>Bitwise equality of the logical elements of two matrices.</summary>
    public static bool SameBits<T>(Matrix<T> a, Matrix<T> b)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (a.Rows != b.Rows || a.Columns != b.Columns)
        {
            return false;
        }

        for (int r = 0; r < a.Rows; r++)
        {
            if (!a.Row(r).SequenceEqual(b.Row(r)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Elementwise |m|, as a new matrix.</summary>
    public static Matrix<T> Abs<T>(Matrix<T> m)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Matrix<T> result = m.Clone();
        System.Numerics.Tensors.TensorPrimitives.Abs<T>(result.AsSpan(), result.AsSpan());
        return result;
    }

    /// <summary>
    /// Asserts |expected − actual| ≤ factor · bound elementwise, where bound is the product of the operands'
    /// absolute values (Σ|a·b|): the textbook error bound of a length-k sum is (k + 2)·ε·Σ|a·b|.
    /// </summary>
    public static void AssertWithinBound<T>(Matrix<T> expected, Matrix<T> actual, Matrix<T> bound, double factor, string what)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < expected.Rows; i++)
        {
            for (int j = 0; j < expected.Columns; j++)
            {
                double e = double.CreateTruncating(expected[i, j]);
                double a = double.CreateTruncating(actual[i, j]);
                double tolerance = factor * double.CreateTruncating(bound[i, j]);
                Xunit.Assert.True(Math.Abs(e - a) <= tolerance, $"{what}: [{i},{j}] = {a}, reference {e}, tolerance {tolerance}");
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> with <see cref="MnistNetRuntime.SimdPath"/> set to <paramref name="path"/>, then restores it.</summary>
    public static void OnPath(SimdPath path, Action action)
    {
        SimdPath saved = MnistNetRuntime.SimdPath;
        try
        {
            MnistNetRuntime.SimdPath = path;
            action();
        }
        finally
        {
            MnistNetRuntime.SimdPath = saved;
        }
    }

    public static double Epsilon<T>() => typeof(T) == typeof(float) ? MathF.BitIncrement(1f) - 1f : Math.BitIncrement(1.0) - 1.0;

    public static string DataFolder => BundledData.MnistFolder;

    /// <summary>
    /// Five warm-up steps (JIT tiers, per-thread job objects, lazily built buffers), then rounds of ten steps: passes when a
    /// round allocates nothing on the caller or the pool's workers, fails when three rounds in a row allocate.
    /// </summary>
    /// <remarks>
    /// A step that allocates allocates in every round, so it fails here. Rounds are repeated because the runtime now and
    /// then charges a few hundred bytes of its own to a thread (CI saw 928 bytes once in 20 steps that allocate nothing
    /// elsewhere; the runtime's own GetAllocatedBytesForCurrentThread tests see the same, dotnet/runtime#63487).
    /// </remarks>
    internal static void AssertNoAllocation(Action<int> steps)
    {
        steps(5);
        var rounds = new List<(long Caller, long Workers)>();
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            long beforeWorkers = WorkerPool.Shared.WorkerAllocatedBytes;
            steps(10);
            long caller = GC.GetAllocatedBytesForCurrentThread() - before;
            long workers = WorkerPool.Shared.WorkerAllocatedBytes - beforeWorkers;
            if (caller == 0 && workers == 0)
            {
                return;
            }

            rounds.Add((caller, workers));
        }

        Assert.Fail("Every round of ten steps allocated (bytes on the caller, on the workers): " + string.Join(", ", rounds));
    }
}
