using System.Numerics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Diagnostics;

/// <summary>
/// Checks a network's back-propagated gradients against centered finite differences of its loss,
/// coordinate by coordinate, over every parameter tensor (W1, b1, W2, b2, or every layer of a <see cref="DenseNetwork{T}"/>).
/// </summary>
/// <remarks>
/// <para>For each parameter θ the numerical derivative is <c>(L(θ + h) − L(θ − h)) / 2h</c>, and the error is
/// <c>|a − n| / max(|a| + |n|, floor)</c> for analytic value a and numerical value n.
/// The floor keeps gradients that are zero or tiny — where both values are rounding noise — from reporting huge
/// relative errors; it turns them into an absolute check of <c>floor × error</c>. The numerical derivative carries
/// an absolute rounding error of about <c>ε·|L| / h</c> (≈ 5e-11 in double with h = 1e-5), so to hold coordinates
/// to a relative error r, choose a floor of at least that noise divided by r (1e-4 for r = 1e-6).</para>
/// <para>Use <c>double</c>: with h ≈ 1e-5 the two agree to ~1e-9. In <c>float</c> only h ≈ 1e-2 works, with errors of ~1e-3.
/// Coordinates whose perturbation flips any hidden unit across ReLU's kink (where the derivative does not exist)
/// are skipped and counted in <see cref="GradientCheckResult.Skipped"/>.</para>
/// <para>Cost: two forward passes per parameter; meant for small networks and batches.</para>
/// </remarks>
public static class GradientCheck
{
    /// <summary>Compares analytic and numerical gradients of the mean cross-entropy of <paramref name="network"/> on a batch.</summary>
    /// <typeparam name="T">float or double (prefer double).</typeparam>
    /// <param name="network">The network; its parameters are perturbed during the check and restored exactly afterwards.</param>
    /// <param name="x">Inputs, <c>network.Inputs</c> × m, m ≥ 1.</param>
    /// <param name="labels">The m labels.</param>
    /// <param name="step">The perturbation h (finite, &gt; 0).</param>
    /// <param name="floor">The smallest denominator of the relative error (≥ 0).</param>
    /// <returns>The largest relative error, where it occurred, and per-tensor maxima.</returns>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> or <paramref name="floor"/> is out of range, or a label is.</exception>
    public static GradientCheckResult Run<T>(TwoLayerNetwork<T> network, Matrix<T> x, ReadOnlySpan<byte> labels, double step = 1e-5, double floor = 1e-8)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(x);
        CheckArguments(step, floor);
        ForwardPass<T> baseline = network.ForwardProp(x);
        Gradients<T> analytic = network.BackwardProp(x, labels, baseline);
        var scratch = new ForwardPass<T>(network, x.Columns);
        byte[] y = labels.ToArray();
        double Loss()
        {
            network.ForwardCore(x, scratch, y, out double lossSum);
            return lossSum / x.Columns;
        }

        bool Kink() => CrossesKink(baseline.Z1, scratch.Z1);
        static bool None() => false;

        var state = new CheckState();
        CheckTensor("W1", network.W1, analytic.DW1, Loss, Kink, step, floor, state);
        CheckTensor("b1", network.B1, analytic.DB1, Loss, Kink, step, floor, state);
        CheckTensor("W2", network.W2, analytic.DW2, Loss, None, step, floor, state);
        CheckTensor("b2", network.B2, analytic.DB2, Loss, None, step, floor, state);
        return new GradientCheckResult(state.MaxError, state.Worst, state.ByTensor, state.Checked, state.Skipped);
    }

    /// <summary>
    /// Compares analytic and numerical gradients of the mean cross-entropy of a <see cref="DenseNetwork{T}"/> on a batch,
    /// for every layer's weights and biases (tensors named "W0", "b0", "W1", …).
    /// </summary>
    /// <typeparam name="T">float or double (prefer double).</typeparam>
    /// <param name="network">The network; its parameters are perturbed during the check and restored exactly afterwards.</param>
    /// <param name="x">Inputs, <c>network.Inputs</c> × m, m ≥ 1.</param>
    /// <param name="labels">The m labels.</param>
    /// <param name="step">The perturbation h (finite, &gt; 0).</param>
    /// <param name="floor">The smallest denominator of the relative error (≥ 0).</param>
    /// <returns>The largest relative error, where it occurred, and per-tensor maxima.</returns>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> or <paramref name="floor"/> is out of range, or a label is.</exception>
    public static GradientCheckResult Run<T>(DenseNetwork<T> network, Matrix<T> x, ReadOnlySpan<byte> labels, double step = 1e-5, double floor = 1e-8)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(x);
        CheckArguments(step, floor);
        if (x.Columns == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(x));
        }

        var analytic = new NetworkWorkspace<T>(network, x.Columns);
        network.ComputeGradients(x, labels, analytic);
        var scratch = new NetworkWorkspace<T>(network, x.Columns);
        byte[] y = labels.ToArray();
        double Loss() => network.ForwardCore(x, scratch, y) / x.Columns;

        var state = new CheckState();
        int last = network.LayerCount - 1;
        for (int l = 0; l <= last; l++)
        {
            // Parameters of layer l move the pre-activations of layers l and above; the hidden ones have kinks.
            int layer = l;
            bool Kink()
            {
                for (int k = layer; k < last; k++)
                {
                    if (CrossesKink(analytic.Z[k], scratch.Z[k]))
                    {
                        return true;
                    }
                }

                return false;
            }

            CheckTensor($"W{l}", network.Weights[l], analytic.WeightGradients[l], Loss, Kink, step, floor, state);
            CheckTensor($"b{l}", network.Biases[l], analytic.BiasGradients[l], Loss, Kink, step, floor, state);
        }

        return new GradientCheckResult(state.MaxError, state.Worst, state.ByTensor, state.Checked, state.Skipped);
    }

    private static void CheckArguments(double step, double floor)
    {
        if (!double.IsFinite(step) || step <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "The step h must be finite and greater than 0.");
        }

        if (!double.IsFinite(floor) || floor < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(floor), floor, "The floor must be finite and at least 0.");
        }
    }

    private static void CheckTensor<T>(
        string name,
        Matrix<T> parameter,
        Matrix<T> gradient,
        Func<double> loss,
        Func<bool> crossesKink,
        double step,
        double floor,
        CheckState state)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double tensorMax = 0;
        for (int r = 0; r < parameter.Rows; r++)
        {
            for (int c = 0; c < parameter.Columns; c++)
            {
                T original = parameter[r, c];
                T plus = original + T.CreateTruncating(step);
                T minus = original - T.CreateTruncating(step);

                parameter[r, c] = plus;
                double lossPlus = loss();
                bool kink = crossesKink();
                parameter[r, c] = minus;
                double lossMinus = loss();
                kink |= crossesKink();
                parameter[r, c] = original;

                if (kink)
                {
                    state.Skipped++;
                    continue;
                }

                // Divide by the step actually taken after rounding θ ± h to T.
                double numeric = (lossPlus - lossMinus) / (double.CreateTruncating(plus) - double.CreateTruncating(minus));
                double a = double.CreateTruncating(gradient[r, c]);
                double error = Math.Abs(a - numeric) / Math.Max(Math.Abs(a) + Math.Abs(numeric), floor);
                if (double.IsNaN(error))
                {
                    error = double.PositiveInfinity;
                }

                state.Checked++;
                tensorMax = Math.Max(tensorMax, error);
                if (error > state.MaxError || state.Worst.Length == 0)
                {
                    state.MaxError = Math.Max(state.MaxError, error);
                    state.Worst = $"{name}[{r}, {c}]";
                }
            }
        }

        state.ByTensor[name] = tensorMax;
    }

    private static bool CrossesKink<T>(Matrix<T> before, Matrix<T> after)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = 0; r < before.Rows; r++)
        {
            Span<T> b = before.Row(r);
            Span<T> a = after.Row(r);
            for (int c = 0; c < b.Length; c++)
            {
                if ((b[c] > T.Zero) != (a[c] > T.Zero))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private sealed class CheckState
    {
        public double MaxError;
        public string Worst = string.Empty;
        public Dictionary<string, double> ByTensor { get; } = new(StringComparer.Ordinal);
        public int Checked;
        public int Skipped;
    }
}
