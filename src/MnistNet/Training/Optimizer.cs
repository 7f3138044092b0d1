using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Threading;

namespace MnistNet.Training;

/// <summary>
/// Updates a <see cref="Network{T}"/>'s parameters from the gradients in a <see cref="NetworkWorkspace{T}"/>:
/// <see cref="Sgd{T}"/>, <see cref="Momentum{T}"/> (optionally Nesterov), <see cref="RmsProp{T}"/> or <see cref="Adam{T}"/>
/// (AdamW with a weight decay). An optimiser keeps per-parameter state (velocities, moment estimates), allocated on the
/// first <see cref="Step"/> and saved in checkpoints; use one optimiser per network.
/// </summary>
/// <remarks>
/// Write your own by deriving from this class: give it a <see cref="Name"/>, the number of state buffers it keeps per
/// parameter (<see cref="StateCount"/>), its hyper-parameters as text (<see cref="Settings"/>, for checkpoints) and the
/// element-wise rule (<see cref="Update"/>); register a factory with <see cref="Optimizers.Register"/> so that checkpoints
/// naming it can be resumed. The optimiser walks the network's named parameters and knows nothing of layer types.
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public abstract class Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Elements per chunk when an element-wise update is split across threads (a multiple of every vector width).</summary>
    private const int UpdateChunk = 16 * 1024;

    /// <summary>The element range [start, start + length) of the storage that <see cref="Run{TKernel}"/> updates on this thread; length 0 = all.</summary>
    [ThreadStatic]
    private static (int Start, int Length) t_range;

    private Matrix<T>[][]? _state;
    private StepJob? _job;

    /// <summary>Initialises the base learning rate.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and positive.</exception>
    protected Optimizer(double learningRate)
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

    /// <summary>Gets the number of state buffers (each shaped like its parameter) kept per parameter tensor.</summary>
    public virtual int StateCount => 0;

    /// <summary>Applies one update to every parameter of <paramref name="network"/>, with the gradients in <paramref name="workspace"/>.</summary>
    /// <param name="network">The network to update.</param>
    /// <param name="workspace">Holds the gradients of the last <see cref="Network{T}.ComputeGradients(Matrix{T}, ReadOnlySpan{ushort}, NetworkWorkspace{T})"/>.</param>
    /// <param name="learningRate">The learning rate of this step (the base rate times the schedule's factor).</param>
    /// <exception cref="ArgumentException">The workspace belongs to a network of another shape, or the optimiser's state does.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and positive.</exception>
    public void Step(Network<T> network, NetworkWorkspace<T> workspace, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(workspace);
        CheckRate(learningRate, nameof(learningRate));
        if (!workspace.Fits(network) || !workspace.IsTraining)
        {
            throw new ArgumentException($"The workspace holds no gradients for {network.Architecture} (it was made for another network, or for prediction only).", nameof(workspace));
        }

        EnsureState(network);
        Steps++;
        T rate = T.CreateTruncating(learningRate);
        IReadOnlyList<Parameter<T>> parameters = network.Parameters;
        Matrix<T>[] gradients = workspace.GradientBuffers;
        int threads = MnistNetRuntime.MaxDegreeOfParallelism;

        // Stryker disable once Equality : for the element-wise rules, parallel and serial updates give the same bits (OptimizerTests, ThreadCountTests)
        if (Elementwise && threads > 1)
        {
            // Element-wise rules: the tensors' storage in fixed chunks on every thread; each element's update is the
            // same wherever its chunk runs, so the bits do not depend on the thread count.
            _job ??= new StepJob(this);
            _job.Run(parameters, gradients, rate, threads);
            return;
        }

        for (int p = 0; p < parameters.Count; p++)
        {
            Update(parameters[p], gradients[p].AsSpan(), _state![p], rate);
        }
    }

    /// <summary>Forgets the state (velocities, moments) and the step count, as for a fresh optimiser.</summary>
    public void Reset()
    {
        _state = null;
        Steps = 0;
    }

    /// <summary>Gets the hyper-parameters as (key, text) pairs, for checkpoints and reports; <see cref="Optimizers.Create{T}"/> reads them back.</summary>
    /// <returns>The settings (none by default).</returns>
    public virtual IEnumerable<KeyValuePair<string, string>> Settings() => [];

    /// <summary>
    /// Applies the rule to one parameter tensor: <c>θ ← update(θ, g, state)</c>. Spans cover the matrices' whole storage,
    /// zero padding included (a rule that maps zeros to zeros keeps the padding zero).
    /// </summary>
    /// <param name="parameter">The parameter (its <see cref="Parameter{T}.Value"/> is updated in place; <see cref="Parameter{T}.Decays"/> says whether weight decay applies).</param>
    /// <param name="gradient">The gradient of the mean loss, as long as the parameter's storage.</param>
    /// <param name="state">This parameter's <see cref="StateCount"/> state buffers, shaped like it, zero at the first step.</param>
    /// <param name="learningRate">This step's learning rate.</param>
    protected abstract void Update(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate);

    /// <summary>The <paramref name="kind"/>-th state buffer of <paramref name="state"/>, or an empty span.</summary>
    /// <param name="state">A parameter's state buffers.</param>
    /// <param name="kind">The index.</param>
    /// <returns>The buffer's storage.</returns>
    protected static Span<T> StateSpan(ReadOnlySpan<Matrix<T>> state, int kind) => kind < state.Length ? state[kind].AsSpan() : default;

    /// <summary>Applies the rule to one tensor outside a network (the rule's tests drive it with plain arrays).</summary>
    internal void Apply(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate) => Update(parameter, gradient, state, learningRate);

    /// <summary>The state buffer <paramref name="kind"/> of parameter <paramref name="index"/>, allocating the state if needed.</summary>
    internal Matrix<T> State(Network<T> network, int kind, int index)
    {
        EnsureState(network);
        return _state![index][kind];
    }

    internal void RestoreSteps(long steps) => Steps = steps;

    private void EnsureState(Network<T> network)
    {
        IReadOnlyList<Parameter<T>> parameters = network.Parameters;
        if (_state is not null)
        {
            bool same = _state.Length == parameters.Count;
            for (int p = 0; same && p < parameters.Count; p++)
            {
                same = _state[p].Length == StateCount && (StateCount == 0 || (_state[p][0].Rows == parameters[p].Value.Rows && _state[p][0].Columns == parameters[p].Value.Columns));
            }

            if (!same)
            {
                throw new ArgumentException($"This optimiser's state belongs to a network of another shape than {network.Architecture}; use one optimiser per network, or Reset() it.", nameof(network));
            }

            return;
        }

        int count = StateCount;
        if (count < 0)
        {
            throw new InvalidOperationException($"{GetType().Name}.StateCount is {count}; expected a value ≥ 0.");
        }

        _state = new Matrix<T>[parameters.Count][];
        for (int p = 0; p < parameters.Count; p++)
        {
            _state[p] = new Matrix<T>[count];
            for (int k = 0; k < count; k++)
            {
                _state[p][k] = new Matrix<T>(parameters[p].Value.Rows, parameters[p].Value.Columns);
            }
        }
    }

    /// <summary>Gets whether <see cref="Update"/> treats every element on its own (the built-in rules), so a tensor may be updated in chunks on several threads.</summary>
    private protected virtual bool Elementwise => false;

    /// <summary>Runs <paramref name="kernel"/> over the whole spans (or this thread's chunk of them) on the SIMD path of <see cref="MnistNetRuntime.EffectiveSimdPath"/>: full 512-bit vectors, then 256-bit, then scalars.</summary>
    private protected static void Run<TKernel>(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, in TKernel kernel)
        where TKernel : struct, IUpdateKernel<T>
    {
        (int start, int length) = t_range;
        if (length > 0)
        {
            parameter = parameter.Slice(start, length);
            gradient = gradient.Slice(start, length);
            s0 = s0.IsEmpty ? s0 : s0.Slice(start, length);
            s1 = s1.IsEmpty ? s1 : s1.Slice(start, length);
        }

        var loop = new UpdateLoop<TKernel>(parameter, gradient, s0, s1, kernel);
        Simd.Cascade<T, UpdateLoop<TKernel>>(MnistNetRuntime.EffectiveSimdPath, ref loop, 0, parameter.Length);
    }

    /// <summary>An update kernel over four spans, as a loop <see cref="Simd.Cascade"/> runs at every width.</summary>
    private readonly ref struct UpdateLoop<TKernel> : IVectorLoop<T>
        where TKernel : struct, IUpdateKernel<T>
    {
        private readonly ref T _p;
        private readonly ref T _g;
        private readonly ref T _a;
        private readonly ref T _b;
        private readonly TKernel _kernel;

        public UpdateLoop(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, TKernel kernel)
        {
            _p = ref MemoryMarshal.GetReference(parameter);
            _g = ref MemoryMarshal.GetReference(gradient);
            _a = ref MemoryMarshal.GetReference(s0);
            _b = ref MemoryMarshal.GetReference(s1);
            _kernel = kernel;
        }

        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<T, TVec> =>
            _kernel.Apply<TVec, TOps>(ref _p, ref _g, ref _a, ref _b, i, end);
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

    private protected static string Text(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>One optimiser step split into (tensor, element range) chunks for the worker pool.</summary>
    private sealed class StepJob(Optimizer<T> optimizer) : IChunkJob
    {
        private readonly List<(int Parameter, int Start, int Length)> _chunks = [];
        private int[] _owners = [];
        private int _blockRows;
        private IReadOnlyList<Parameter<T>> _parameters = [];
        private Matrix<T>[] _gradients = [];
        private T _rate;

        public void Run(IReadOnlyList<Parameter<T>> parameters, Matrix<T>[] gradients, T rate, int threads)
        {
            // Chunks never cross a block of rows of the sparse first layer's slices, and each chunk is owned by its
            // block: the thread that wrote a block's gradient (that slice's chunk) updates its weights and state, and
            // transposes them in the next step's forward pass, without the block moving between cores.
            // Rebuilt for another network's parameters (after Reset() it may have another shape) or another SIMD width.
            int blockRows = LinearAlgebra.SparseInputKernels<T>.SliceWidth(MnistNetRuntime.EffectiveSimdPath);
            if (_chunks.Count == 0 || !ReferenceEquals(parameters, _parameters) || blockRows != _blockRows)
            {
                _chunks.Clear();
                var owners = new List<int>();
                for (int p = 0; p < parameters.Count; p++)
                {
                    Matrix<T> value = parameters[p].Value;
                    int n = value.AsSpan().Length;
                    // Stryker disable once all : the block size decides only which thread updates which elements; each element's update is the same wherever it runs (same bits on any thread count, tested)
                    int block = Math.Max(1, blockRows * value.Stride);
                    for (int blockStart = 0; blockStart < n; blockStart += block)
                    {
                        int blockEnd = Math.Min(n, blockStart + block);
                        for (int start = blockStart; start < blockEnd; start += UpdateChunk)
                        {
                            _chunks.Add((p, start, Math.Min(UpdateChunk, blockEnd - start)));
                            // Stryker disable once all : the owner decides only which thread runs the chunk (same bits on any thread count, tested)
                            owners.Add(blockStart / block);
                        }
                    }
                }

                _owners = [.. owners];
                _blockRows = blockRows;
            }

            _parameters = parameters;
            _gradients = gradients;
            _rate = rate;
            try
            {
                WorkerPool.Shared.RunOwned(this, _chunks.Count, threads, _owners);
            }
            finally
            {
                _gradients = [];
            }
        }

        public void Execute(int chunk)
        {
            (int p, int start, int length) = _chunks[chunk];
            (int Start, int Length) saved = t_range;
            t_range = (start, length);
            try
            {
                optimizer.Update(_parameters[p], _gradients[p].AsSpan(), optimizer._state![p], _rate);
            }
            finally
            {
                t_range = saved;
            }
        }
    }
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
