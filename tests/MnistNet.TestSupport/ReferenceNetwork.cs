using System.Numerics;
using MnistNet.LinearAlgebra;

using MnistNet.Networks;

namespace MnistNet.TestSupport;

/// <summary>
/// The seed's equations written with the naive <see cref="ReferenceKernels"/> only: the oracle the fast
/// <see cref="TwoLayerNetwork{T}"/> path is tested against and the baseline it is benchmarked against.
/// </summary>
public static class ReferenceNetwork
{
    /// <summary>Forward and backward pass with the reference kernels; allocates everything it returns.</summary>
    public static (ForwardPass<T> Forward, Gradients<T> Gradients) ForwardBackward<T>(TwoLayerNetwork<T> net, Matrix<T> x, ReadOnlySpan<ushort> labels)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = x.Columns;
        var f = new ForwardPass<T>(net, m);
        ReferenceKernels.Multiply(net.W1, x, f.Z1);
        f.Z1.AddColumnVector(net.B1);
        ReferenceKernels.ReLU(f.Z1, f.A1);
        ReferenceKernels.Multiply(net.W2, f.A1, f.Z2);
        f.Z2.AddColumnVector(net.B2);
        ReferenceKernels.Softmax(f.Z2, f.A2);

        var g = new Gradients<T>(net, m);
        f.A2.CopyTo(g.DZ2);
        for (int j = 0; j < m; j++)
        {
            g.DZ2[labels[j], j] -= T.One;
        }

        T inverseM = T.One / T.CreateTruncating(m);
        ReferenceKernels.MultiplyByTranspose(g.DZ2, f.A1, g.DW2);
        var back = new Matrix<T>(net.Hidden, m);
        ReferenceKernels.TransposeAndMultiply(net.W2, g.DZ2, back);
        ReferenceKernels.ReLUBackward(back, f.Z1, g.DZ1);
        ReferenceKernels.MultiplyByTranspose(g.DZ1, x, g.DW1);
        for (int r = 0; r < net.Hidden; r++)
        {
            T sum = T.Zero;
            for (int j = 0; j < m; j++)
            {
                sum += g.DZ1[r, j];
            }

            g.DB1[r, 0] = sum * inverseM;
        }

        for (int r = 0; r < net.Outputs; r++)
        {
            T sum = T.Zero;
            for (int j = 0; j < m; j++)
            {
                sum += g.DZ2[r, j];
            }

            g.DB2[r, 0] = sum * inverseM;
        }

        Scale(g.DW1, inverseM);
        Scale(g.DW2, inverseM);
        return (f, g);
    }

    /// <summary>One full-batch step — forward, backward, <c>θ ← θ − α dθ</c> — with the reference kernels.</summary>
    public static void TrainStep<T>(TwoLayerNetwork<T> net, Matrix<T> x, ReadOnlySpan<ushort> labels, T alpha)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gradients<T> g = ForwardBackward(net, x, labels).Gradients;
        Step(net.W1, g.DW1, alpha);
        Step(net.B1, g.DB1, alpha);
        Step(net.W2, g.DW2, alpha);
        Step(net.B2, g.DB2, alpha);
    }

    private static void Scale<T>(Matrix<T> m, T factor)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < m.Rows; r++)
        {
            for (int c = 0; c < m.Columns; c++)
            {
                m[r, c] *= factor;
            }
        }
    }

    private static void Step<T>(Matrix<T> parameter, Matrix<T> gradient, T alpha)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < parameter.Rows; r++)
        {
            for (int c = 0; c < parameter.Columns; c++)
            {
                parameter[r, c] -= alpha * gradient[r, c];
            }
        }
    }
}
