using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using MnistNet.LinearAlgebra;

namespace MnistNet.Activations;

/// <summary>The network's activation functions: ReLU for hidden layers and a numerically stable, per-column softmax.</summary>
/// <remarks>All methods accept a destination equal to the input (in place) unless stated otherwise.</remarks>
[SkipLocalsInit]
public static class Activation
{
    /// <summary>Columns processed per block in <see cref="Softmax{T}(Matrix{T}, Matrix{T})"/>; fixed, so results do not depend on anything but the shape.</summary>
    internal const int SoftmaxBlock = ColumnBlocks.Width;

    /// <summary>Effectively computes <c>destination[r, c] = max(z[r, c], 0)</c>.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="z">Pre-activations.</param>
    /// <param name="destination">Result, same shape as <paramref name="z"/>; may be <paramref name="z"/>.</param>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    /// <remarks>NaN inputs give NaN outputs.</remarks>
    public static void ReLU<T>(Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(destination);
        Matrix<T>.RequireSameShape(z, destination, nameof(destination));
        ReLURows(z, destination, 0, z.Rows);
    }

    /// <summary><c>destination = max(z, 0)</c> for rows [<paramref name="start"/>, <paramref name="end"/>); the shapes are checked by the caller.</summary>
    internal static void ReLURows<T>(Matrix<T> z, Matrix<T> destination, int start, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = start; r < end; r++)
        {
            SimdMath.Max(z.Row(r), T.Zero, destination.Row(r));
        }
    }

    /// <summary>Returns <c>max(z, 0)</c> elementwise as a new matrix.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="z">Pre-activations.</param>
    /// <returns>A new matrix.</returns>
    public static Matrix<T> ReLU<T>(Matrix<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(z);
        var result = new Matrix<T>(z.Rows, z.Columns);
        ReLU(z, result);
        return result;
    }

    /// <summary>Effectively computes the derivative mask <c>destination[r, c] = z[r, c] &gt; 0 ? 1 : 0</c> (the seed's <c>ReLU_deriv</c>).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="z">Pre-activations.</param>
    /// <param name="destination">Result, same shape as <paramref name="z"/>; may be <paramref name="z"/>.</param>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    /// <remarks>The derivative at exactly 0 is taken as 0, as in the seed.</remarks>
    public static void ReLUDerivative<T>(Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(destination);
        Matrix<T>.RequireSameShape(z, destination, nameof(destination));
        for (int r = 0; r < z.Rows; r++)
        {
            Span<T> source = z.Row(r);
            Span<T> target = destination.Row(r);
            for (int c = 0; c < source.Length; c++)
            {
                target[c] = source[c] > T.Zero ? T.One : T.Zero;
            }
        }
    }

    /// <summary>
    /// Effectively computes <c>destination = gradient ⊙ [z &gt; 0]</c>: back-propagates <paramref name="gradient"/>
    /// through a ReLU whose input was <paramref name="z"/>, without materialising the mask.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="gradient">Gradient with respect to the ReLU's output.</param>
    /// <param name="z">The ReLU's input (pre-activations).</param>
    /// <param name="destination">Gradient with respect to <paramref name="z"/>; may be <paramref name="gradient"/>.</param>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    public static void ReLUBackward<T>(Matrix<T> gradient, Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(gradient);
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(destination);
        Matrix<T>.RequireSameShape(z, gradient, nameof(gradient));
        Matrix<T>.RequireSameShape(z, destination, nameof(destination));
        MatrixKernels.ReLUBackward(gradient, z, destination, 0, z.Columns, MnistNetRuntime.EffectiveSimdPath);
    }

    /// <summary>
    /// Effectively computes, for every column c, <c>destination[r, c] = exp(z[r, c] − max_r z[r, c]) / Σ_r exp(z[r, c] − max_r z[r, c])</c>.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="z">Logits, one example per column.</param>
    /// <param name="destination">Probabilities, same shape; may be <paramref name="z"/>.</param>
    /// <exception cref="ArgumentException">The shapes differ.</exception>
    /// <remarks>
    /// Subtracting each column's maximum keeps every exponent ≤ 0, so finite logits of any size give finite
    /// probabilities that sum to 1 (up to rounding); a column containing NaN or ±∞ gives NaN.
    /// Unlike <c>TensorPrimitives.SoftMax</c>, which normalises a whole span,
    /// this normalises each column separately.
    /// </remarks>
    public static void Softmax<T>(Matrix<T> z, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(z);
        ArgumentNullException.ThrowIfNull(destination);
        Matrix<T>.RequireSameShape(z, destination, nameof(destination));
        SoftmaxColumns(z, destination, 0, z.Columns, default, out _);
    }

    /// <summary>Returns the per-column softmax of <paramref name="z"/> as a new matrix.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="z">Logits, one example per column.</param>
    /// <returns>A new matrix of probabilities.</returns>
    public static Matrix<T> Softmax<T>(Matrix<T> z)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(z);
        var result = new Matrix<T>(z.Rows, z.Columns);
        Softmax(z, result);
        return result;
    }

    /// <summary>
    /// Softmax of columns [<paramref name="start"/>, <paramref name="end"/>) in fixed blocks of <see cref="SoftmaxBlock"/>
    /// (every label must be a row of <paramref name="z"/>: callers validate them),
    /// and, when <paramref name="labels"/> is not empty, the summed cross-entropy −Σ log softmax(z)[label] computed
    /// from the logits as <c>log Σ exp(z − max) − (z[label] − max)</c>, which stays finite where log(probability) would not.
    /// </summary>
    internal static void SoftmaxColumns<T>(Matrix<T> z, Matrix<T> destination, int start, int end, ReadOnlySpan<ushort> labels, out double lossSum)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<T> max = stackalloc T[SoftmaxBlock];
        Span<T> sum = stackalloc T[SoftmaxBlock];
        lossSum = 0;
        int rows = z.Rows;
        for (int c0 = start; c0 < end; c0 += SoftmaxBlock)
        {
            int n = Math.Min(SoftmaxBlock, end - c0);
            Span<T> mx = max[..n];
            Span<T> sm = sum[..n];
            if (rows == 0)
            {
                continue;
            }

            z.Row(0).Slice(c0, n).CopyTo(mx);
            for (int r = 1; r < rows; r++)
            {
                SimdMath.Max(mx, z.Row(r).Slice(c0, n), mx);
            }

            // Labels are read before destination overwrites z (they may be the same matrix).
            if (!labels.IsEmpty)
            {
                // z[label, column] straight from the buffer: labels were validated by the caller.
                ref T first = ref z.UnsafeStart;
                for (int c = 0; c < n; c++)
                {
                    T logit = Unsafe.Add(ref first, (labels[c0 + c] * z.Stride) + c0 + c);
                    lossSum -= double.CreateTruncating(logit - mx[c]);
                }
            }

            sm.Clear();
            for (int r = 0; r < rows; r++)
            {
                Span<T> d = destination.Row(r).Slice(c0, n);
                SimdMath.Subtract(z.Row(r).Slice(c0, n), mx, d);
                SimdMath.Exp(d, d);
                SimdMath.Add(sm, d, sm);
            }

            for (int r = 0; r < rows; r++)
            {
                Span<T> d = destination.Row(r).Slice(c0, n);
                SimdMath.Divide(d, sm, d);
            }

            if (!labels.IsEmpty)
            {
                SimdMath.Log(sm, sm);
                for (int c = 0; c < n; c++)
                {
                    lossSum += double.CreateTruncating(sm[c]);
                }
            }
        }
    }
}
