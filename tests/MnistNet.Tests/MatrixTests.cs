using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

public class MatrixTests
{
    [Fact]
    public void Rows_Are64ByteAligned_AndPadded()
    {
        foreach (int columns in new[] { 1, 15, 16, 17, 784 })
        {
            var m = new Matrix<float>(3, columns);
            Assert.Equal(0, m.Stride % 16);
            Assert.True(m.Stride >= columns);
            unsafe
            {
                fixed (float* p = m.AsSpan())
                {
                    Assert.Equal(0, (long)p % 64);
                }
            }
        }

        Assert.Equal(0, new Matrix<double>(2, 9).Stride % 8);
    }

    [Fact]
    public void FactoriesAndIndexer_RoundTrip()
    {
        double[,] values = { { 1, 2, 3 }, { 4, 5, 6 } };
        Matrix<double> m = Matrix<double>.FromArray(values);
        Assert.Equal(values, m.ToArray());
        Assert.Equal(6, m[1, 2]);
        Assert.Equal(new double[] { 4, 5, 6 }, m.Row(1).ToArray());
        Matrix<double> n = Matrix<double>.FromRowMajor(2, 3, [1, 2, 3, 4, 5, 6]);
        Assert.True(TestData.SameBits(m, n));
        Assert.Throws<ArgumentException>(() => Matrix<double>.FromRowMajor(2, 3, [1, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => m[2, 0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => m[0, -1]);
    }

    [Fact]
    public void RandomUniform_SeededAndInRange()
    {
        Matrix<float> a = Matrix<float>.RandomUniform(10, 100, -2f, 3f, seed: 1);
        Matrix<float> b = Matrix<float>.RandomUniform(10, 100, -2f, 3f, seed: 1);
        Assert.True(TestData.SameBits(a, b));
        for (int r = 0; r < 10; r++)
        {
            Assert.All(a.Row(r).ToArray(), v => Assert.InRange(v, -2f, 2.9999998f));
        }

        Assert.Throws<ArgumentException>(() => Matrix<float>.RandomUniform(1, 1, 1f, 1f, 0));
    }

    [Fact]
    public void Products_ShapeMismatch_NameBothShapes()
    {
        var a = new Matrix<float>(10, 784);
        var b = new Matrix<float>(785, 3);
        var ex = Assert.Throws<ArgumentException>(() => a.Multiply(b));
        Assert.Contains("10 × 784", ex.Message);
        Assert.Contains("785 × 3", ex.Message);
        Assert.Throws<ArgumentException>(() => a.MultiplyByTranspose(new Matrix<float>(3, 783)));
        Assert.Throws<ArgumentException>(() => a.TransposeAndMultiply(new Matrix<float>(11, 3)));
        Assert.Throws<ArgumentException>(() => Matrix<float>.Multiply(a, new Matrix<float>(784, 2), new Matrix<float>(10, 3)));
        var square = new Matrix<float>(4, 4);
        Assert.Throws<ArgumentException>(() => Matrix<float>.Multiply(square, new Matrix<float>(4, 4), square));
    }

    [Fact]
    public void Products_DegenerateShapes()
    {
        Matrix<float> rowVector = TestData.Random<float>(1, 9, 1);
        Matrix<float> colVector = TestData.Random<float>(9, 1, 2);
        Matrix<float> dot = rowVector.Multiply(colVector);
        float expected = 0;
        for (int i = 0; i < 9; i++)
        {
            expected += rowVector[0, i] * colVector[i, 0];
        }

        Assert.Equal(expected, dot[0, 0], 5);
        Matrix<float> outer = colVector.Multiply(rowVector);
        Assert.Equal(colVector[3, 0] * rowVector[0, 5], outer[3, 5]);

        // k = 0: an empty sum is zero.
        Matrix<float> empty = new Matrix<float>(3, 0).Multiply(new Matrix<float>(0, 4));
        Assert.All(empty.ToArray().Cast<float>(), v => Assert.Equal(0f, v));
        Matrix<float> emptyT = new Matrix<float>(3, 0).MultiplyByTranspose(new Matrix<float>(4, 0));
        Assert.All(emptyT.ToArray().Cast<float>(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void AddColumnVector_AndSumRows()
    {
        Matrix<double> m = Matrix<double>.FromArray(new double[,] { { 1, 2 }, { 3, 4 } });
        m.AddColumnVector(Matrix<double>.FromArray(new double[,] { { 10 }, { 20 } }));
        Assert.Equal(new double[,] { { 11, 12 }, { 23, 24 } }, m.ToArray());
        Assert.Equal(new double[,] { { 23 }, { 47 } }, m.SumRows().ToArray());
        Assert.Throws<ArgumentException>(() => m.AddColumnVector(new Matrix<double>(3, 1)));
        Assert.Throws<ArgumentException>(() => m.SumRows(new Matrix<double>(2, 2)));
    }

    [Fact]
    public void UnsupportedElementType_Throws()
    {
        Assert.Throws<NotSupportedException>(() => new Matrix<Half>(1, 1));
    }

    [Fact]
    public void Prng_IsDeterministic_AndShuffleIsAPermutation()
    {
        var a = new Prng(5);
        var b = new Prng(5);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }

        int[] values = Enumerable.Range(0, 1000).ToArray();
        new Prng(1).Shuffle(values.AsSpan());
        Assert.NotEqual(Enumerable.Range(0, 1000), values);
        Assert.Equal(Enumerable.Range(0, 1000), values.Order());
        Assert.All(Enumerable.Range(0, 1000).Select(_ => a.NextInt32(7)), v => Assert.InRange(v, 0, 6));
        Assert.All(Enumerable.Range(0, 1000).Select(_ => a.NextDouble()), v => Assert.InRange(v, 0, 0.9999999999999999));
    }
}
