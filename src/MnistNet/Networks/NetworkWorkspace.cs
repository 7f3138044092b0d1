using System.Numerics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;

namespace MnistNet.Networks;

/// <summary>
/// Every buffer one forward and backward pass of a <see cref="Network{T}"/> needs for batches of a fixed size,
/// allocated once so that a training step allocates nothing: each layer's output, each layer's input gradient and
/// each parameter's gradient.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
/// <remarks>A workspace is not thread-safe: use one per thread.</remarks>
public sealed class NetworkWorkspace<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Matrix<T>[] _outputs;
    private readonly Matrix<T>[] _inputGradients;
    private readonly Matrix<T>[] _gradients;
    private readonly Network<T> _network;
    private FusedTrainingStep<T>? _fused;
    private SparseBatch<T>? _sparseInput;
    private AboveFirstLayerJob<T>? _aboveFirst;
    private SparseInputKernels<T>? _sparseKernels;

    /// <summary>Allocates a workspace for <paramref name="network"/> and batches of exactly <paramref name="columns"/> examples.</summary>
    /// <param name="network">The network whose layers give the shapes.</param>
    /// <param name="columns">The batch size m (≥ 1).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> is less than 1.</exception>
    public NetworkWorkspace(Network<T> network, int columns)
        : this(network, RequireColumns(columns), training: true)
    {
    }

    /// <summary>Allocates the buffers; without <paramref name="training"/> only those of a forward pass (for prediction).</summary>
    internal NetworkWorkspace(Network<T> network, int columns, bool training, bool input = true)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfNegative(columns);

        IReadOnlyList<Layer<T>> layers = network.Layers;
        _network = network;
        _outputs = new Matrix<T>[layers.Count];
        _inputGradients = new Matrix<T>[layers.Count];
        var empty = new Matrix<T>(0, 0);
        for (int i = 0; i < layers.Count; i++)
        {
            _outputs[i] = new Matrix<T>(layers[i].OutputSize, columns);
        }

        // ∂L/∂(input of layer i), from the top down; elementwise layers write theirs over the one above (in place).
        for (int i = layers.Count - 1; i >= 0; i--)
        {
            _inputGradients[i] = !training || i == 0
                ? empty
                : layers[i].BackwardInPlace && i + 1 < layers.Count
                    ? _inputGradients[i + 1]
                    : new Matrix<T>(layers[i].InputSize, columns);
        }

        IReadOnlyList<Parameter<T>> parameters = network.Parameters;
        _gradients = new Matrix<T>[parameters.Count];
        for (int p = 0; p < parameters.Count; p++)
        {
            // Stryker disable once Conditional : buffers only: a prediction workspace never reads its gradients
            _gradients[p] = training ? new Matrix<T>(parameters[p].Value.Rows, parameters[p].Value.Columns) : empty;
        }

        Columns = columns;
        IsTraining = training;
        Labels = new ushort[columns];
        // Stryker disable once Conditional : buffers only: a workspace made without an input buffer is given its inputs
        Input = input ? new Matrix<T>(network.Inputs, columns) : empty;
        Context = new LayerContext(columns);
    }

    /// <summary>Gets the batch size m.</summary>
    public int Columns { get; }

    /// <summary>Gets each layer's output of the last forward pass (for a dense layer Z, for ReLU A, for the last the probabilities).</summary>
    public IReadOnlyList<Matrix<T>> Outputs => _outputs;

    /// <summary>Gets ∂L/∂(input of layer i) of the summed loss for i ≥ 1 (layer 0's is never computed: 0 × 0).</summary>
    public IReadOnlyList<Matrix<T>> InputGradients => _inputGradients;

    /// <summary>Gets the gradients of the mean loss, one per <see cref="Network{T}.Parameters"/> entry (same order and shapes).</summary>
    public IReadOnlyList<Matrix<T>> Gradients => _gradients;

    /// <summary>Gets the probabilities of the last forward pass (the last layer's output).</summary>
    public Matrix<T> Output => _outputs[^1];

    /// <summary>Gets a buffer for a batch of inputs (inputs × m), for callers that assemble batches in place.</summary>
    public Matrix<T> Input { get; }

    /// <summary>Gets a buffer for a batch of labels (m), for callers that assemble batches in place.</summary>
    public ushort[] Labels { get; }

    /// <summary>
    /// Gets or sets how <see cref="Network{T}.ComputeGradients(Data.Dataset, ReadOnlySpan{int}, NetworkWorkspace{T})"/> feeds a
    /// batch to the first layer: <see cref="InputMode.Auto"/> (sparse when the data set is mostly zeros and the first layer
    /// is dense), or always <see cref="InputMode.Dense"/> or <see cref="InputMode.Sparse"/>.
    /// </summary>
    public InputMode InputMode { get; set; }

    /// <summary>
    /// Gets or sets the seed of the random layers (<see cref="Dropout{T}"/>) for the next training pass; each training pass
    /// takes it and adds one, so a workspace used step after step draws new masks, and the same seed gives the same masks
    /// (and bits). <see cref="Training.Trainer{T}"/> sets it from <see cref="Training.TrainingOptions.Seed"/> and the step
    /// number before every step, so a resumed run draws what an uninterrupted one would have. Starts at 0.
    /// </summary>
    public long RandomSeed
    {
        get => Context.NextSeed;
        set => Context.NextSeed = value;
    }

    /// <summary>Gets the (parameter, gradient) pairs by name, in the network's parameter order.</summary>
    /// <returns>Name, parameter and gradient of each trainable tensor.</returns>
    public IEnumerable<(string Name, Parameter<T> Parameter, Matrix<T> Gradient)> NamedGradients()
    {
        IReadOnlyList<Parameter<T>> parameters = _network.Parameters;
        for (int p = 0; p < parameters.Count; p++)
        {
            yield return (parameters[p].Name, parameters[p], _gradients[p]);
        }
    }

    internal bool IsTraining { get; }

    internal LayerContext Context { get; }

    internal Matrix<T>[] OutputBuffers => _outputs;

    internal Matrix<T>[] InputGradientBuffers => _inputGradients;

    internal Matrix<T>[] GradientBuffers => _gradients;

    /// <summary>The sparse input batch and the first layer's sparse kernels, allocated on first use.</summary>
    internal SparseBatch<T> SparseInput => _sparseInput ??= new SparseBatch<T>(_network.Inputs, Columns);

    /// <summary>Gets the job that overlaps the layers above a sparse first layer with grouping the batch by row.</summary>
    internal AboveFirstLayerJob<T> AboveFirst => _aboveFirst ??= new AboveFirstLayerJob<T>();

    internal SparseInputKernels<T> SparseKernels => _sparseKernels ??= new SparseInputKernels<T>(_network.Inputs, _network.Layers[0].OutputSize, Columns);

    /// <summary>The fused two-layer step's partial sums, allocated on first use.</summary>
    internal FusedTrainingStep<T> Fused => _fused ??= new FusedTrainingStep<T>(_network, this);

    private static int RequireColumns(int columns)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        return columns;
    }

    internal bool Fits(Network<T> network) => ReferenceEquals(network, _network) || network.SameShape(_network);
}
