using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>
/// Inverted dropout (PyTorch's <c>nn.Dropout</c>): while training, each value is kept with probability 1 − p and scaled
/// by 1 / (1 − p), or set to 0; at inference the layer passes its input through unchanged.
/// </summary>
/// <remarks>
/// <code>
/// forward (training):   A  = X ⊙ M / (1 − p),   M[r, j] = 1 with probability 1 − p, else 0
/// backward:             dX = dA ⊙ M / (1 − p)
/// forward (inference):  A  = X
/// </code>
/// <para>The mask is not stored: M[r, j] is a hash of the pass's seed (<see cref="LayerContext.Seed"/>), the layer's place
/// in the network, the row and the column, so the backward pass draws it again, any number of threads draw the same
/// mask, and the same seed gives the same bits (<see cref="Networks.NetworkWorkspace{T}.RandomSeed"/>).</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Dropout<T> : Layer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a dropout layer.</summary>
    /// <param name="size">Rows per example (≥ 1).</param>
    /// <param name="rate">The probability p of dropping a value, in [0, 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is less than 1, or <paramref name="rate"/> is not in [0, 1).</exception>
    public Dropout(int size, double rate)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (!(rate >= 0 && rate < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The dropout rate must be in [0, 1).");
        }

        Size = size;
        Rate = rate;
    }

    /// <summary>Gets the number of rows per example.</summary>
    public int Size { get; }

    /// <summary>Gets the probability p of dropping a value while training.</summary>
    public double Rate { get; }

    /// <inheritdoc/>
    public override int InputSize => Size;

    /// <inheritdoc/>
    public override int OutputSize => Size;

    /// <inheritdoc/>
    // Stryker disable once Boolean : buffers only: false gives the layer its own input-gradient buffer, with the same values
    protected internal override bool BackwardInPlace => true;

    /// <inheritdoc/>
    public override Layer<T> Clone() => new Dropout<T>(Size, Rate);

    /// <inheritdoc/>
    public override string ToString() => FormattableString.Invariant($"dropout {Rate:R}");

    /// <inheritdoc/>
    protected internal override void Forward(LayerContext context, Matrix<T> input, Matrix<T> output) =>
        Apply(context, input, output);

    /// <inheritdoc/>
    protected internal override void Backward(LayerContext context, Matrix<T> input, Matrix<T> output, Matrix<T>? outputGradient, Matrix<T>? inputGradient, ReadOnlySpan<Matrix<T>> parameterGradients)
    {
        ArgumentNullException.ThrowIfNull(outputGradient);
        if (inputGradient is not null)
        {
            Apply(context, outputGradient, inputGradient);
        }
    }

    /// <summary>destination = source ⊙ M / (1 − p) while training; a copy otherwise. Works in place.</summary>
    private void Apply(LayerContext context, Matrix<T> source, Matrix<T> destination)
    {
        int m = source.Columns;
        if (!context.Training || Rate == 0)
        {
            for (int r = 0; r < Size; r++)
            {
                source.Row(r)[..m].CopyTo(destination.Row(r));
            }

            return;
        }

        T scale = T.One / (T.One - T.CreateTruncating(Rate));
        for (int r = 0; r < Size; r++)
        {
            ulong key = RowKey(context.Seed, context.LayerIndex, r);
            ReadOnlySpan<T> from = source.Row(r)[..m];
            Span<T> to = destination.Row(r)[..m];
            for (int j = 0; j < m; j++)
            {
                // Stryker disable once Equality : > differs only when a draw equals p exactly (one chance in 2^53 per draw)
                to[j] = Uniform(key, j) >= Rate ? from[j] * scale : T.Zero;
            }
        }
    }

    private static ulong RowKey(long seed, int layer, int row) =>
        Mix(Mix(Mix(unchecked((ulong)seed)) ^ (uint)layer) ^ (uint)row);

    /// <summary>A uniform double in [0, 1) for column <paramref name="column"/> of a row.</summary>
    private static double Uniform(ulong rowKey, int column) =>
        (Mix(unchecked(rowKey + ((ulong)(uint)column * 0x9E3779B97F4A7C15UL))) >> 11) * (1.0 / (1UL << 53));

    /// <summary>SplitMix64's finaliser: every input bit reaches every output bit.</summary>
    internal static ulong Mix(ulong z)
    {
        unchecked
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
