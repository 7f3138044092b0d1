using System.Numerics;

using MnistNet.LinearAlgebra;

namespace MnistNet.TestSupport;

/// <summary>
/// The slow, obvious versions of every kernel: plain loops, one multiply and one add per term, no SIMD, no
/// threads. They are the oracle the fast kernels are tested against and the baseline they are benchmarked
/// against; nothing on a hot path calls them.
/// </summary>
public static class ReferenceKernels
{
    /// <summary>C = A · B (A: M × K, B: K × N).</summary>
    public static void Multiply<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < c.Rows; i++)
        {
            for (int j = 0; j < c.Columns; j++)
            {
                T sum = T.Zero;
                for (int k = 0; k < a.Columns; k++)
                {
                    sum += a[i, k] * b[k, j];
                }

                c[i, j] = sum;
            }
        }
    }

    /// <summary>C = A · Bᵀ (A: M × K, B: N × K).</summary>
    public static void MultiplyByTranspose<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < c.Rows; i++)
        {
            for (int j = 0; j < c.Columns; j++)
            {
                T sum = T.Zero;
                for (int k = 0; k < a.Columns; k++)
                {
                    sum += a[i, k] * b[j, k];
                }

                c[i, j] = sum;
            }
        }
    }

    /// <summary>C = Aᵀ · B (A: K × M, B: K × N).</summary>
    public static void TransposeAndMultiply<T>(Matrix<T> a, Matrix<T> b, Matrix<T> c)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < c.Rows; i++)
        {
            for (int j = 0; j < c.Columns; j++)
            {
                T sum = T.Zero;
                for (int k = 0; k < a.Rows; k++)
                {
                    sum += a[k, i] * b[k, j];
                }

                c[i, j] = sum;
            }
        }
    }

    /// <summary>destination = max(z, 0), elementwise.</summary>
    public static void ReLU<T>(Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < z.Rows; i++)
        {
            for (int j = 0; j < z.Columns; j++)
            {
                destination[i, j] = z[i, j] > T.Zero ? z[i, j] : T.Zero;
            }
        }
    }

    /// <summary>destination = gradient ⊙ [z &gt; 0], elementwise.</summary>
    public static void ReLUBackward<T>(Matrix<T> gradient, Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < z.Rows; i++)
        {
            for (int j = 0; j < z.Columns; j++)
            {
                destination[i, j] = z[i, j] > T.Zero ? gradient[i, j] : T.Zero;
            }
        }
    }

    /// <summary>Softmax of each column, in double, with the column maximum subtracted.</summary>
    public static void Softmax<T>(Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int j = 0; j < z.Columns; j++)
        {
            double max = double.NegativeInfinity;
            for (int i = 0; i < z.Rows; i++)
            {
                max = Math.Max(max, double.CreateTruncating(z[i, j]));
            }

            double sum = 0;
            for (int i = 0; i < z.Rows; i++)
            {
                sum += Math.Exp(double.CreateTruncating(z[i, j]) - max);
            }

            for (int i = 0; i < z.Rows; i++)
            {
                destination[i, j] = T.CreateTruncating(Math.Exp(double.CreateTruncating(z[i, j]) - max) / sum);
            }
        }
    }
}
