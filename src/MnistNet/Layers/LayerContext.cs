using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Layers;

/// <summary>What a layer needs to know about the batch being computed, besides its input: labels, size, SIMD path.</summary>
/// <remarks>One context lives in each workspace and is reused for every batch (no allocation per step).</remarks>
public sealed class LayerContext
{
    internal LayerContext(int capacity) => LabelBuffer = new ushort[capacity];

    /// <summary>Gets the number of examples (columns) in the batch.</summary>
    public int Columns { get; private set; }

    /// <summary>Gets 1/m in double; layers round it to their element type.</summary>
    public double InverseBatch => Columns == 0 ? 0 : 1.0 / Columns;

    /// <summary>Gets the batch's labels, or an empty span for prediction.</summary>
    public ReadOnlySpan<ushort> Labels => HasLabels ? LabelBuffer.AsSpan(0, Columns) : default;

    /// <summary>Gets whether labels were given (training or loss evaluation).</summary>
    public bool HasLabels { get; private set; }

    /// <summary>Gets whether this pass trains (layers such as dropout behave differently at inference).</summary>
    public bool Training { get; private set; }

    /// <summary>Gets the SIMD path resolved for this pass (<see cref="MnistNetRuntime.EffectiveSimdPath"/>).</summary>
    public SimdPath Path { get; private set; }

    /// <summary>
    /// Gets the seed of this pass's random layers (<see cref="Dropout{T}"/>): the workspace's
    /// <see cref="Networks.NetworkWorkspace{T}.RandomSeed"/> when the training pass began (each training pass takes the next one).
    /// </summary>
    public long Seed { get; private set; }

    /// <summary>Gets the position in the network of the layer being run (random layers mix it into their seed).</summary>
    public int LayerIndex { get; internal set; }

    /// <summary>Gets or sets the seed the next training pass takes.</summary>
    internal long NextSeed { get; set; }

    /// <summary>Gets or sets the summed loss written by the loss layer's forward pass (0 without labels).</summary>
    public double LossSum { get; set; }

    internal ushort[] LabelBuffer { get; }

    /// <summary>Scratch matrices by (layer, slot), kept from pass to pass.</summary>
    private readonly Dictionary<(object Owner, int Slot), object> _scratch = [];

    /// <summary>Objects kept with this context by (layer, type): a layer's parallel jobs.</summary>
    private readonly Dictionary<(object Owner, Type Type), object> _states = [];

    /// <summary>
    /// The <typeparamref name="TState"/> of <paramref name="owner"/>'s kept with this context (a layer's parallel job),
    /// made on first use; a layer may keep one object of each type.
    /// </summary>
    internal TState State<TState>(object owner)
        where TState : class, new()
    {
        if (_states.TryGetValue((owner, typeof(TState)), out object? found))
        {
            return (TState)found;
        }

        var state = new TState();
        _states[(owner, typeof(TState))] = state;
        return state;
    }

    /// <summary>
    /// A scratch matrix of <paramref name="rows"/> × <paramref name="columns"/> for slot <paramref name="slot"/> of
    /// <paramref name="owner"/> (a layer's buffers that live only during one pass, such as a convolution's unrolled
    /// input), allocated on first use and reused by every later pass of the same shape: a training step allocates
    /// nothing once it has run. Its contents are whatever the last pass left.
    /// </summary>
    internal Matrix<T> Scratch<T>(object owner, int slot, int rows, int columns)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (_scratch.TryGetValue((owner, slot), out object? found) && found is Matrix<T> matrix && matrix.Rows == rows && matrix.Columns == columns)
        {
            return matrix;
        }

        matrix = new Matrix<T>(rows, columns);
        _scratch[(owner, slot)] = matrix;
        return matrix;
    }

    internal void Begin(int columns, ReadOnlySpan<ushort> labels, bool training)
    {
        Columns = columns;
        HasLabels = !labels.IsEmpty;
        // Stryker disable once Logical : without labels the span is empty, and copying it does nothing
        if (HasLabels && !labels.Overlaps(LabelBuffer))
        {
            labels.CopyTo(LabelBuffer);
        }

        Training = training;
        if (training)
        {
            Seed = NextSeed;
            NextSeed = unchecked(NextSeed + 1);
        }

        LayerIndex = 0;
        Path = MnistNetRuntime.EffectiveSimdPath;
        LossSum = 0;
    }
}
