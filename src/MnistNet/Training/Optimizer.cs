using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;

namespace MnistNet.Training;

/// <summary>
/// Updates a <see cref="DenseNetwork{T}"/>'s parameters from the gradients in a <see cref="NetworkWorkspace{T}"/>:
/// <see cref="Sgd{T}"/>, <see cref="Momentum{T}"/> (optionally Nesterov), <see cref="RmsProp{T}"/> or <see cref="Adam{T}"/>
/// (AdamW with a weight decay). An optimiser keeps per-parameter state (velocities, moment estimates), allocated on the
/// first <see cref="Step"/> and saved in checkpoints; use one optimiser per network.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public abstract class Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private Matrix<T>[][]? _state;

    private protected Optimizer(double learningRate)
    {
        CheckRate(learningRate, nameof(learningRate));
        LearningRate = learningRate;
    }

    /// <summary>Gets the base learning rate (a <see cref="LearningRateSchedule"/> scales it during training).</summary>
    public double LearningRate { get; }

    /// <summary>Gets the number of updates applied so far (Adam's bias correction uses it).</summary>
    public long Steps { get; private set; }

    /// <summary>Gets the optimiser's name, as the sample's <c>--optimizer</c> option spells it.</summary>
    public abstract string Name { get; }

    /// <summary>Gets the number of state buffers kept per parameter tensor.</summary>
    internal abstract int StateCount { get; }

    /// <summary>Applies one update to every weight and bias of <paramref name="network"/>, with the gradients in <paramref name="workspace"/>.</summary>
    /// <param name="network">The network to update.</param>
    /// <param name="workspace">Holds the gradients of the last <see cref="DenseNetwork{T}.ComputeGradients"/>.</param>
    /// <param name="learningRate">The learning rate of this step (the base rate times the schedule's factor).</param>
    /// <exception cref="ArgumentException">The workspace belongs to a network of another shape, or the optimiser's state does.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and positive.</exception>
    public void Step(DenseNetwork<T> network, NetworkWorkspace<T> workspace, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(workspace);
        CheckRate(learningRate, nameof(learningRate));
        if (!workspace.Fits(network))
        {
            throw new ArgumentException($"The workspace was made for a {string.Join('-', workspace.Sizes)} network, not {network.Architecture}.", nameof(workspace));
        }

        EnsureState(network);
        Steps++;
        T rate = T.CreateTruncating(learningRate);
        Matrix<T>[] parameters = network.Parameters;
        for (int p = 0; p < parameters.Length; p++)
        {
            int layer = p / 2;
            bool isWeight = p % 2 == 0;
            Matrix<T> gradient = isWeight ? workspace.WeightGradients[layer] : workspace.BiasGradients[layer];
            Span<T> s0 = StateCount > 0 ? _state![0][p].AsSpan() : default;
            Span<T> s1 = StateCount > 1 ? _state![1][p].AsSpan() : default;
            Update(parameters[p].AsSpan(), gradient.AsSpan(), s0, s1, rate, isWeight);
        }
    }

    /// <summary>Forgets the state (velocities, moments) and the step count, as for a fresh optimiser.</summary>
    public void Reset()
    {
        _state = null;
        Steps = 0;
    }

    /// <summary>The hyper-parameters, as text, for checkpoints and reports.</summary>
    internal abstract IEnumerable<KeyValuePair<string, string>> Settings();

    /// <summary>θ ← update(θ, g, state) for one parameter tensor (spans include the matrices' zero padding).</summary>
    internal abstract void Update(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, T learningRate, bool isWeight);

    /// <summary>The state buffer <paramref name="kind"/> of parameter <paramref name="index"/>, allocating the state if needed.</summary>
    internal Matrix<T> State(DenseNetwork<T> network, int kind, int index)
    {
        EnsureState(network);
        return _state![kind][index];
    }

    internal void RestoreSteps(long steps) => Steps = steps;

    private void EnsureState(DenseNetwork<T> network)
    {
        Matrix<T>[] parameters = network.Parameters;
        if (_state is not null)
        {
            bool same = _state.Length == 0 || _state[0].Length == parameters.Length;
            for (int p = 0; same && _state.Length > 0 && p < parameters.Length; p++)
            {
                same = _state[0][p].Rows == parameters[p].Rows && _state[0][p].Columns == parameters[p].Columns;
            }

            if (!same)
            {
                throw new ArgumentException($"This optimiser's state belongs to a network of another shape than {network.Architecture}; use one optimiser per network, or Reset() it.", nameof(network));
            }

            return;
        }

        _state = new Matrix<T>[StateCount][];
        for (int k = 0; k < StateCount; k++)
        {
            _state[k] = new Matrix<T>[parameters.Length];
            for (int p = 0; p < parameters.Length; p++)
            {
                _state[k][p] = new Matrix<T>(parameters[p].Rows, parameters[p].Columns);
            }
        }

    }

    /// <summary>Runs <paramref name="kernel"/> over the whole spans: full 512-bit vectors, then 256-bit, then scalars.</summary>
    private protected static void Run<TKernel>(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, in TKernel kernel)
        where TKernel : struct, IUpdateKernel<T>
    {
        ref T p = ref MemoryMarshal.GetReference(parameter);
        ref T g = ref MemoryMarshal.GetReference(gradient);
        ref T a = ref MemoryMarshal.GetReference(s0);
        ref T b = ref MemoryMarshal.GetReference(s1);
        int n = parameter.Length;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            i = kernel.Apply<Vector512<T>, Simd512<T>>(ref p, ref g, ref a, ref b, i, n);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            i = kernel.Apply<Vector256<T>, Simd256<T>>(ref p, ref g, ref a, ref b, i, n);
        }

        kernel.Apply<T, SimdScalar<T>>(ref p, ref g, ref a, ref b, i, n);
    }

    private protected static void CheckRate(double value, string name)
    {
        if (!double.IsFinite(value) || value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "The learning rate must be finite and greater than 0.");
        }
    }

    private protected static void CheckFraction(double value, string name)
    {
        if (!(value >= 0 && value < 1))
        {
            throw new ArgumentOutOfRangeException(name, value, "Expected a value in [0, 1).");
        }
    }

    private protected static void CheckNonNegative(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
        {
            throw new ArgumentOutOfRangeException(name, value, "Expected a finite value ≥ 0.");
        }
    }

    private protected static string Text(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An optimiser's element-wise update, written once for every vector width.</summary>
/// <typeparam name="T">float or double.</typeparam>
internal interface IUpdateKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Updates elements [i, n) in steps of one <typeparamref name="TVec"/> and returns where it stopped; every width must give the same bits.</summary>
    int Apply<TVec, TOps>(ref T parameter, ref T gradient, ref T s0, ref T s1, int i, int n)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>;
}
