using System.Numerics;
using MnistNet.Layers;
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
/// Coordinates whose perturbation flips any hidden unit across ReLU's kink, or hands a max-pooling window to another
/// winner (both places where the derivative does not exist), are skipped and counted in
/// <see cref="GradientCheckResult.Skipped"/>.</para>
/// <para>Cost: two forward passes per parameter; meant for small networks and batches.</para>
/// </remarks>
public static class GradientCheck
{
    /// <summary>
    /// Compares the back-propagated gradients of the seed's network with finite differences (tensors named "W1", "b1",
    /// "W2", "b2"); the same check as <see cref="Run{T}(Network{T}, Matrix{T}, ReadOnlySpan{ushort}, double, double)"/> on its layers.
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
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "One overload per network type, each with the same defaults; they never compete for a call.")]
    public static GradientCheckResult Run<T>(TwoLayerNetwork<T> network, Matrix<T> x, ReadOnlySpan<ushort> labels, double step = 1e-5, double floor = 1e-8)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        return Run(network.Network, x, labels, step, floor, ["W1", "b1", "W2", "b2"]);
    }

    /// <summary>
    /// Compares the gradients that <see cref="Network{T}.ComputeGradients(Matrix{T}, ReadOnlySpan{ushort}, NetworkWorkspace{T})"/>
    /// (the path training takes) computes for a batch with centered finite differences of the mean cross-entropy, for every
    /// parameter (tensors named as in model files: "layers.0.weight", …).
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
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "One overload per network type, each with the same defaults; they never compete for a call.")]
    public static GradientCheckResult Run<T>(Network<T> network, Matrix<T> x, ReadOnlySpan<ushort> labels, double step = 1e-5, double floor = 1e-8)
        where T : unmanaged, IFloatingPointIeee754<T> => Run(network, x, labels, step, floor, null);

    /// <summary>
    /// Compares <paramref name="gradients"/> — supplied by you, one per <see cref="Network{T}.Parameters"/> entry — with centered
    /// finite differences of the network's mean cross-entropy on a batch: use it to check a gradient computed elsewhere
    /// (a new layer's backward pass, another library's result). The losses are computed as at inference: a
    /// <see cref="Layers.Dropout{T}"/> passes everything through, so give gradients computed without dropout.
    /// </summary>
    /// <typeparam name="T">float or double (prefer double).</typeparam>
    /// <param name="network">The network; its parameters are perturbed during the check and restored exactly afterwards.</param>
    /// <param name="x">Inputs, <c>network.Inputs</c> × m, m ≥ 1.</param>
    /// <param name="labels">The m labels.</param>
    /// <param name="gradients">The gradients to check, in parameter order, each shaped like its parameter.</param>
    /// <param name="step">The perturbation h (finite, &gt; 0).</param>
    /// <param name="floor">The smallest denominator of the relative error (≥ 0).</param>
    /// <returns>The largest relative error, where it occurred, and per-tensor maxima.</returns>
    /// <exception cref="ArgumentException">A shape or count does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="step"/> or <paramref name="floor"/> is out of range, or a label is.</exception>
    public static GradientCheckResult Compare<T>(Network<T> network, Matrix<T> x, ReadOnlySpan<ushort> labels, IReadOnlyList<Matrix<T>> gradients, double step = 1e-5, double floor = 1e-8)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(gradients);
        CheckArguments(step, floor);
        if (gradients.Count != network.Parameters.Count)
        {
            throw new ArgumentException($"Expected {network.Parameters.Count} gradients (one per parameter), got {gradients.Count}.", nameof(gradients));
        }

        for (int p = 0; p < gradients.Count; p++)
        {
            Matrix<T> value = network.Parameters[p].Value;
            if (gradients[p] is null || gradients[p].Rows != value.Rows || gradients[p].Columns != value.Columns)
            {
                throw new ArgumentException($"Gradient {p} ({network.Parameters[p].Name}) must be {value.Rows} × {value.Columns}.", nameof(gradients));
            }
        }

        return Check(network, x, labels, gradients, null, step, floor, null);
    }

    private static GradientCheckResult Run<T>(Network<T> network, Matrix<T> x, ReadOnlySpan<ushort> labels, double step, double floor, string[]? names)
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
        long seed = analytic.RandomSeed;
        network.ComputeGradients(x, labels, analytic);
        return Check(network, x, labels, analytic.Gradients, names, step, floor, seed);
    }

    /// <summary>
    /// The comparison. With a <paramref name="seed"/> (the analytic pass's), every loss is computed as that training pass
    /// was, random layers drawing the same masks; without one (gradients from elsewhere), as at inference (dropout passes
    /// everything through).
    /// </summary>
    private static GradientCheckResult Check<T>(Network<T> network, Matrix<T> x, ReadOnlySpan<ushort> labels, IReadOnlyList<Matrix<T>> gradients, string[]? names, double step, double floor, long? seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Columns == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(x));
        }

        // The baseline forward pass, then one scratch pass per perturbation.
        network.CheckLabelledBatch(x, labels);
        var baseline = new NetworkWorkspace<T>(network, x.Columns, training: false, input: false);
        baseline.RandomSeed = seed ?? 0;
        baseline.Context.Begin(x.Columns, labels, training: seed.HasValue);
        network.Forward(x, baseline.Context, baseline.OutputBuffers);
        var scratch = new NetworkWorkspace<T>(network, x.Columns, training: false, input: false);
        ushort[] y = labels.ToArray();
        double Loss()
        {
            scratch.RandomSeed = seed ?? 0;
            scratch.Context.Begin(x.Columns, y, training: seed.HasValue);
            network.Forward(x, scratch.Context, scratch.OutputBuffers);
            return scratch.Context.LossSum / x.Columns;
        }

        // A perturbation that moves any ReLU's input across 0, or hands any pooling window to another winner (both are
        // corners of the loss, where the derivative does not exist), is skipped.
        IReadOnlyList<Layer<T>> layers = network.Layers;
        bool Kink()
        {
            for (int i = 1; i < layers.Count; i++)
            {
                Matrix<T> before = baseline.OutputBuffers[i - 1], after = scratch.OutputBuffers[i - 1];
                if ((layers[i] is ReLU<T> && CrossesKink(before, after))
                    || (layers[i] is MaxPool2D<T> pool && SwitchesWinner(pool, before, after)))
                {
                    return true;
                }
            }

            return false;
        }

        var state = new CheckState();
        IReadOnlyList<Parameter<T>> parameters = network.Parameters;
        for (int p = 0; p < parameters.Count; p++)
        {
            CheckTensor(names?[p] ?? parameters[p].Name, parameters[p].Value, gradients[p], Loss, Kink, step, floor, state);
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

    /// <summary>Whether any 2 × 2 window of <paramref name="pool"/>'s input has a different winner (the first of its
    /// largest values, the one the backward pass routes the gradient to) after the perturbation than before.</summary>
    private static bool SwitchesWinner<T>(MaxPool2D<T> pool, Matrix<T> before, Matrix<T> after)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = 0; c < pool.Channels; c++)
        {
            for (int y = 0; y < pool.OutputHeight; y++)
            {
                for (int x = 0; x < pool.OutputWidth; x++)
                {
                    int top = pool.WindowTop(c, y, x);
                    ReadOnlySpan<int> rows = [top, top + 1, top + pool.Width, top + pool.Width + 1];
                    for (int j = 0; j < before.Columns; j++)
                    {
                        if (Winner(before, rows, j) != Winner(after, rows, j))
                        {
                            return true;
                        }
                    }
                }
            }
        }

        return false;
    }

    private static int Winner<T>(Matrix<T> input, ReadOnlySpan<int> rows, int column)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int winner = 0;
        for (int k = 1; k < rows.Length; k++)
        {
            if (input[rows[k], column] > input[rows[winner], column])
            {
                winner = k;
            }
        }

        return winner;
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
