using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// The packed GEMM called directly (below the size where the public products switch to it), on every SIMD path:
/// against the reference kernel with the (k + 2)·ε·Σ|a·b| bound, and — for A·B and Aᵀ·B — bit for bit against the
/// unpacked kernel, since both compute each element as one sequential fused multiply-add chain.
/// </summary>
[Collection(SerialTestGroup.Name)]
public class PackedGemmTests
{
    public static readonly TheoryData<SimdPath> Paths = new() { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 };

    [Theory]
    [MemberData(nameof(Paths))]
    public void Packed_EdgeShapes_MatchReferenceAndUnpackedBits(SimdPath path)
    {
        int[] sizes = [1, 5, 6, 7, 13, 31, 33, 64, 129];
        foreach (int m in sizes)
        {
            foreach (int n in new[] { 1, 15, 16, 17, 32, 33, 127, 128, 129, 257 })
            {
                Check(m, k: 37, n, path, seed: (m * 1000) + n);
            }
        }

        // k crossing the k-block boundary (the chain continues from the stored C), k = 0, and no rows.
        Check(m: 14, k: PackedGemm.KC + 1, n: 40, path, seed: 1);
        Check(m: 9, k: (2 * PackedGemm.KC) + 17, n: 70, path, seed: 2);
        Check(m: 7, k: 0, n: 33, path, seed: 3);
        Check(m: 0, k: 5, n: 33, path, seed: 4);
    }

#if MUTATION_LIGHT
    private const int RandomShapeCount = 12; // under mutation testing (MutationLight=1): each mutant runs this property
#else
    private const int RandomShapeCount = 60;
#endif

    [Property(Arbitrary = [typeof(Generators)], MaxTest = RandomShapeCount)]
    public void Packed_RandomShapes_MatchReference(GemmShape s)
    {
        foreach (SimdPath path in new[] { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 })
        {
            Check(s.M, s.K, s.N, path, s.Seed);
        }
    }

    [Fact]
    public void Packed_OnFreshThreads_SizesItsOwnBuffers()
    {
        // Each thread keeps its packing buffers from product to product; on a thread that never ran one they start empty,
        // so these products size them from nothing (growing from a smaller product to a larger one, then more chunks)
        // rather than reuse what earlier tests left.
        foreach ((int m, int k, int n) in new[] { (13, 300, 70), (31, 2 * PackedGemm.KC + 9, 3 * PackedGemm.ChunkColumns + 5), (7, 40, 5 * PackedGemm.ChunkColumns) })
        {
            Assert.Null(OnFreshThread(() =>
            {
                Check(m, k, n, MnistNetRuntime.EffectiveSimdPath, seed: m + n);
                Check(m + 6, k + 1, n + PackedGemm.ChunkColumns, MnistNetRuntime.EffectiveSimdPath, seed: m);
            }));
        }
    }

    [Fact]
    public void Packed_RowsSplit_AllocatesOnlyTheBuffersItReads()
    {
        // One column chunk, so the rows are split and every row block reads its column chunk's B from the whole-k copy.
        // A fresh thread's first such product allocates A's packing (slivers · MR · k) and that copy (k · 128), and not
        // also the per-chunk panel of KC × 128 values (128 KB of floats) that only unsplit products read.
        const int m = 256, k = 300, n = PackedGemm.ChunkColumns;
        var a = Matrix<float>.RandomUniform(m, k, -1f, 1f, seed: 1);
        var b = Matrix<float>.RandomUniform(k, n, -1f, 1f, seed: 2);
        var c = new Matrix<float>(m, n);
        SimdPath path = MnistNetRuntime.EffectiveSimdPath;
        long allocated = 0;

        // The first run compiles the code (type loading may allocate); the second, on another fresh thread, is measured.
        Assert.Null(OnFreshThread(() => PackedGemm.Multiply(a, a.Stride, 1, b, b.Stride, 1, k, c, path, 2)));
        Assert.Null(OnFreshThread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            PackedGemm.Multiply(a, a.Stride, 1, b, b.Stride, 1, k, c, path, 2);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }));

        int slivers = (m + PackedGemm.MR - 1) / PackedGemm.MR;
        long needed = sizeof(float) * (((long)slivers * PackedGemm.MR * k) + ((long)k * n));
        Assert.InRange(allocated, needed, needed + (16 * 1024));
        Assert.True(TestData.SameBits(a.Multiply(b), c), "the split product differs from the unpacked kernel's bits");
    }

    /// <summary>Runs <paramref name="action"/> on a new thread (whose packing buffers start empty); returns what it threw, or null.</summary>
    private static Exception? OnFreshThread(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        return failure;
    }

    [Fact]
    public void PublicProducts_LargeShapes_UsePackedPathAndStayCorrect()
    {
        Assert.True(PackedGemm.IsWorthwhile(300, 300, 300));
        Matrix<float> a = TestData.Random<float>(300, 301, 1);
        Matrix<float> b = TestData.Random<float>(301, 302, 2);
        Matrix<float> expected = new(300, 302);
        ReferenceKernels.Multiply(a, b, expected);
        Matrix<float> one = new(300, 302);
        Matrix<float> two = new(300, 302);
        Threads.Run(1, () => MatrixKernels.Multiply(a, b, one, MnistNetRuntime.EffectiveSimdPath, 1));

        // Three rounds, each the same bits: a small product can finish before a sleeping worker wakes.
        Threads.Run(2, () =>
        {
            for (int round = 0; round < 3; round++)
            {
                MatrixKernels.Multiply(a, b, two, MnistNetRuntime.EffectiveSimdPath, 2);
                Assert.True(TestData.SameBits(one, two));
            }
        });
        double worst = 0;
        for (int i = 0; i < 300; i++)
        {
            for (int j = 0; j < 302; j++)
            {
                worst = Math.Max(worst, Math.Abs(expected[i, j] - one[i, j]));
            }
        }

        // |entries| ≤ 1, k = 301: the bound (k + 2)·ε·Σ|a·b| is at most 303 · 1.2e-7 · 301 ≈ 1.1e-2.
        Assert.True(worst < 1.1e-2, $"max error {worst}");
    }

    private static void Check(int m, int k, int n, SimdPath path, long seed)
    {
        CheckOne<float>(m, k, n, path, seed);
        CheckOne<double>(m, k, n, path, seed);
    }

    private static void CheckOne<T>(int m, int k, int n, SimdPath path, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        Matrix<T> a = TestData.Random<T>(m, k, seed);
        Matrix<T> at = TestData.Random<T>(k, m, seed);
        Matrix<T> b = TestData.Random<T>(k, n, seed + 1);
        Matrix<T> bt = TestData.Random<T>(n, k, seed + 1);
        double eps = TestData.Epsilon<T>();

        // A·B: reference bound and the unpacked kernel's exact bits.
        var packed = new Matrix<T>(m, n);
        packed.AsSpan().Fill(T.CreateTruncating(777));
        PackedGemm.Multiply(a, a.Stride, 1, b, b.Stride, 1, k, packed, path, 2);
        var unpacked = new Matrix<T>(m, n);
        MatrixKernels.MultiplyColumns(a, a.Stride, 1, k, b, unpacked, 0, n, MnistNetRuntime.Resolve(path));
        Assert.True(TestData.SameBits(unpacked, packed), $"A·B bits {typeof(T).Name} {path} {m}×{k}×{n}");
        AssertNearReference(a, b, packed, k, eps, $"A·B {typeof(T).Name} {path} {m}×{k}×{n}", (x, y, z) => ReferenceKernels.Multiply(x, y, z));

        // Aᵀ·B.
        var packedT = new Matrix<T>(m, n);
        PackedGemm.Multiply(at, 1, at.Stride, b, b.Stride, 1, k, packedT, path, 2);
        var unpackedT = new Matrix<T>(m, n);
        MatrixKernels.MultiplyColumns(at, 1, at.Stride, k, b, unpackedT, 0, n, MnistNetRuntime.Resolve(path));
        Assert.True(TestData.SameBits(unpackedT, packedT), $"Aᵀ·B bits {typeof(T).Name} {path} {m}×{k}×{n}");

        // A·Bᵀ.
        var packedBt = new Matrix<T>(m, n);
        PackedGemm.Multiply(a, a.Stride, 1, bt, 1, bt.Stride, k, packedBt, path, 2);
        AssertNearReference(a, bt, packedBt, k, eps, $"A·Bᵀ {typeof(T).Name} {path} {m}×{k}×{n}", (x, y, z) => ReferenceKernels.MultiplyByTranspose(x, y, z));
    }

    private static void AssertNearReference<T>(Matrix<T> a, Matrix<T> b, Matrix<T> actual, int k, double eps, string what, Action<Matrix<T>, Matrix<T>, Matrix<T>> reference)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        var expected = new Matrix<T>(actual.Rows, actual.Columns);
        var bound = new Matrix<T>(actual.Rows, actual.Columns);
        reference(a, b, expected);
        reference(TestData.Abs(a), TestData.Abs(b), bound);
        TestData.AssertWithinBound(expected, actual, bound, (k + 2) * eps, what);
    }

    public sealed record GemmShape(int M, int K, int N, long Seed);

    public static class Generators
    {
        public static Arbitrary<GemmShape> Shapes() =>
            (from m in Gen.Choose(1, 40)
             from k in Gen.Choose(0, 600)
             from n in Gen.Choose(1, 300)
             from seed in Gen.Choose(0, 1_000_000)
             select new GemmShape(m, k, n, seed)).ToArbitrary();
    }
}
