using MnistNet.Activations;
using MnistNet.LinearAlgebra;

namespace MnistNet.Tests;

/// <summary><c>MNISTNET_SIMD=scalar</c> means scalar everywhere the library controls, the element-wise math included.</summary>
[Collection(SerialTestGroup.Name)]
public class ScalarPathTests
{
    [Fact]
    public void ScalarPath_SoftmaxAndReLU_AreTheOneElementAtATimeFormulas()
    {
        SimdPath saved = MnistNetRuntime.SimdPath;
        try
        {
            MnistNetRuntime.SimdPath = SimdPath.Scalar;
            Matrix<float> z = TestData.Random<float>(10, 999, 4, -30, 30);
            Matrix<float> actual = Activation.Softmax(z);
            Matrix<float> relu = Activation.ReLU(z);
            for (int j = 0; j < z.Columns; j++)
            {
                float max = float.NegativeInfinity;
                for (int i = 0; i < z.Rows; i++)
                {
                    max = MathF.Max(max, z[i, j]);
                }

                float sum = 0;
                for (int i = 0; i < z.Rows; i++)
                {
                    sum += Exp(z[i, j] - max);
                }

                for (int i = 0; i < z.Rows; i++)
                {
                    float expected = Exp(z[i, j] - max) / sum;
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual[i, j]), $"softmax [{i}, {j}]: {actual[i, j]:R} vs {expected:R}");
                    Assert.Equal(MathF.Max(z[i, j], 0), relu[i, j]);
                }
            }
        }
        finally
        {
            MnistNetRuntime.SimdPath = saved;
        }
    }

    /// <summary>MnistNet's exponential (its own function, the same bits on every path) on one value.</summary>
    private static float Exp(float x) => VectorExp.Exp<float, float, SimdScalar<float>>(x);
}
