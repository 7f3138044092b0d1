using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary>
/// Every fast kernel against its reference twin, on every SIMD path, for every length 0–257 (all vector tails)
/// and random odd shapes. Tolerance: a product of length k may differ from the reference by the textbook
/// bound for summation, (k + 2)·ε·Σ|a·b| per element (ε the type's machine epsilon), because the fast kernels
/// fuse multiply-adds and sum in another order.
/// </summary>
[Collection(SerialTestGroup.Name)]
public class MatrixKernelTests
{
    public static readonly TheoryData<SimdPath> Paths = new() { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 };

    private enum Product
    {
        AB,
        ABt,
        AtB,
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_EveryColumnCount0To257_MatchesReference(SimdPath path)
    {
        for (int n = 0; n <= 257; n++)
        {
            CheckProduct<float>(Product.AB, m: 6, k: 5, n, path, seed: n);
            CheckProduct<double>(Product.AB, m: 6, k: 5, n, path, seed: n);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Multiply_EveryInnerLength0To257_MatchesReference(SimdPath path)
    {
        for (int k = 0; k <= 257; k++)
        {
            CheckProduct<float>(Product.AB, m: 5, k, n: 35, path, seed: k);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MultiplyByTranspose_EveryInnerLength0To257_MatchesReference(SimdPath path)
    {
        for (int k = 0; k <= 257; k++)
        {
            CheckProduct<float>(Product.ABt, m: 5, k, n: 3, path, seed: k);
            CheckProduct<double>(Product.ABt, m: 5, k, n: 3, path, seed: k);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MultiplyByTranspose_EveryOutputCount0To257_MatchesReference(SimdPath path)
    {
        for (int n = 0; n <= 257; n++)
        {
            CheckProduct<float>(Product.ABt, m: 6, k: 19, n, path, seed: n);
            CheckProduct<float>(Product.ABt, m: n % 9, k: 33, n: 7, path, seed: n);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void TransposeAndMultiply_EveryColumnCount0To257_MatchesReference(SimdPath path)
    {
        for (int n = 0; n <= 257; n++)
        {
            CheckProduct<float>(Product.AtB, m: 7, k: 10, n, path, seed: n);
            CheckProduct<double>(Product.AtB, m: 3, k: 4, n, path, seed: n);
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void MultiplyByTranspose_LongerThanOneKBlock_MatchesReference(SimdPath path)
    {
        // Crosses the fixed k-block boundary, so partial sums are accumulated across blocks.
        CheckProduct<float>(Product.ABt, m: 10, k: (2 * MatrixKernels.DotBlockLength) + 37, n: 9, path, seed: 1);
        CheckProduct<double>(Product.ABt, m: 5, k: MatrixKernels.DotBlockLength + 1, n: 3, path, seed: 2);
    }

#if MUTATION_LIGHT
    private const int RandomShapeCount = 25; // under mutation testing (MutationLight=1): each mutant runs this property
#else
    private const int RandomShapeCount = 200;
#endif

    [Property(Arbitrary = [typeof(ShapeGenerators)], MaxTest = RandomShapeCount)]
    public void AllProducts_RandomOddShapes_MatchReferenceOnEveryPath(Shape shape)
    {
        foreach (SimdPath path in new[] { SimdPath.Scalar, SimdPath.Vector256, SimdPath.Vector512 })
        {
            foreach (Product product in Enum.GetValues<Product>())
            {
                CheckProduct<float>(product, shape.M, shape.K, shape.N, path, shape.Seed);
                CheckProduct<double>(product, shape.M, shape.K, shape.N, path, shape.Seed);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AAndAtB_SameBitsOnEveryPath(SimdPath path)
    {
        // One fused multiply-add chain per element: the vector width must not change a single bit.
        Matrix<float> a = TestData.Random<float>(9, 37, 1);
        Matrix<float> b = TestData.Random<float>(37, 301, 2);
        var scalar = new Matrix<float>(9, 301);
        var fast = new Matrix<float>(9, 301);
        MatrixKernels.Multiply(a, b, scalar, SimdPath.Scalar, 1);
        MatrixKernels.Multiply(a, b, fast, path, 2);
        Assert.True(TestData.SameBits(scalar, fast), "A·B");

        // Aᵀ·B: A is 37 × 9 here, so Aᵀ·B is 9 × 301 again.
        Matrix<float> at = TestData.Random<float>(37, 9, 3);
        MatrixKernels.TransposeAndMultiply(at, b, scalar, SimdPath.Scalar, 1);
        MatrixKernels.TransposeAndMultiply(at, b, fast, path, 2);
        Assert.True(TestData.SameBits(scalar, fast), "Aᵀ·B");
        Assert.False(TestData.SameBits(scalar, new Matrix<float>(9, 301)), "the product is not all zeros");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void AllProducts_OneAndTwoThreads_BitIdentical(SimdPath path)
    {
        // Large enough to be split into many chunks and run on the worker threads.
        Matrix<float> w = TestData.Random<float>(10, 784, 1);
        // 20 001 columns: dozens of chunks, so the pool's worker joins in before the caller has run them all.
        Matrix<float> x = TestData.Random<float>(784, 20001, 2, 0, 1);
        Matrix<float> d = TestData.Random<float>(10, 20001, 3);
        Matrix<float> w2 = TestData.Random<float>(10, 10, 4);

        var one = new Matrix<float>(10, 20001);
        var gOne = new Matrix<float>(10, 784);
        var tOne = new Matrix<float>(10, 20001);
        Threads.Run(1, () =>
        {
            MatrixKernels.Multiply(w, x, one, path, 1);
            MatrixKernels.MultiplyByTranspose(d, x, gOne, path, 1);
            MatrixKernels.TransposeAndMultiply(w2, d, tOne, path, 1);
        });

        // Three rounds on two threads (each must give the same bits); the worker has to take part in some of them.
        Threads.Run(2, () =>
        {
            for (int round = 0; round < 3; round++)
            {
                var two = new Matrix<float>(10, 20001);
                var gTwo = new Matrix<float>(10, 784);
                var tTwo = new Matrix<float>(10, 20001);
                MatrixKernels.Multiply(w, x, two, path, 2);
                MatrixKernels.MultiplyByTranspose(d, x, gTwo, path, 2);
                MatrixKernels.TransposeAndMultiply(w2, d, tTwo, path, 2);
                Assert.True(TestData.SameBits(one, two), "W·X");
                Assert.True(TestData.SameBits(gOne, gTwo), "dZ·Xᵀ");
                Assert.True(TestData.SameBits(tOne, tTwo), "Wᵀ·dZ");
            }
        });
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ReLUBackward_EveryLength0To257_MatchesReferenceExactly(SimdPath path)
    {
        for (int n = 0; n <= 257; n++)
        {
            Matrix<float> g = TestData.Random<float>(3, n, n);
            Matrix<float> z = TestData.Random<float>(3, n, n + 1000);
            var expected = new Matrix<float>(3, n);
            var actual = new Matrix<float>(3, n);
            ReferenceKernels.ReLUBackward(g, z, expected);
            MatrixKernels.ReLUBackward(g, z, actual, 0, n, path);
            Assert.True(TestData.SameBits(expected, actual), $"n = {n}");
        }
    }

    [Fact]
    public void Multiply_PaddingStaysZero()
    {
        Matrix<float> a = TestData.Random<float>(5, 3, 1);
        Matrix<float> b = TestData.Random<float>(3, 17, 2);
        Matrix<float> c = a.Multiply(b);
        Span<float> all = c.AsSpan();
        for (int r = 0; r < c.Rows; r++)
        {
            Assert.All(all.Slice((r * c.Stride) + c.Columns, c.Stride - c.Columns).ToArray(), v => Assert.Equal(0f, v));
        }
    }

    private static void CheckProduct<T>(Product product, int m, int k, int n, SimdPath path, long seed)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        (int ar, int ac) = product == Product.AtB ? (k, m) : (m, k);
        (int br, int bc) = product == Product.ABt ? (n, k) : (k, n);
        Matrix<T> a = TestData.Random<T>(ar, ac, seed);
        Matrix<T> b = TestData.Random<T>(br, bc, seed + 7919);
        var expected = new Matrix<T>(m, n);
        var bound = new Matrix<T>(m, n);
        var actual = new Matrix<T>(m, n);

        // Fill the destination with garbage: the kernel must overwrite, not accumulate.
        actual.AsSpan().Fill(T.CreateTruncating(12345));
        switch (product)
        {
            case Product.AB:
                ReferenceKernels.Multiply(a, b, expected);
                ReferenceKernels.Multiply(TestData.Abs(a), TestData.Abs(b), bound);
                MatrixKernels.Multiply(a, b, actual, path, 2);
                break;
            case Product.ABt:
                ReferenceKernels.MultiplyByTranspose(a, b, expected);
                ReferenceKernels.MultiplyByTranspose(TestData.Abs(a), TestData.Abs(b), bound);
                MatrixKernels.MultiplyByTranspose(a, b, actual, path, 2);
                break;
            default:
                ReferenceKernels.TransposeAndMultiply(a, b, expected);
                ReferenceKernels.TransposeAndMultiply(TestData.Abs(a), TestData.Abs(b), bound);
                MatrixKernels.TransposeAndMultiply(a, b, actual, path, 2);
                break;
        }

        TestData.AssertWithinBound(expected, actual, bound, (k + 2) * TestData.Epsilon<T>(), $"{product} {typeof(T).Name} {path} m={m} k={k} n={n}");
    }

    public sealed record Shape(int M, int K, int N, long Seed);

    public static class ShapeGenerators
    {
        public static Arbitrary<Shape> Shapes() =>
            (from m in Gen.Choose(0, 13)
             from k in Gen.Choose(0, 70)
             from n in Gen.Choose(0, 70)
             from seed in Gen.Choose(0, 1_000_000)
             select new Shape(m, k, n, seed)).ToArbitrary();
    }
}
