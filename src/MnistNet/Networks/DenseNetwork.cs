using System.Numerics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Serialization;

namespace MnistNet.Networks;

/// <summary>
/// A stack of fully connected layers — ReLU on every hidden layer, softmax with cross-entropy on the last — such as
/// 784-256-10 or 784-512-256-10: the <see cref="Network{T}"/> of layers
/// <c>Dense, ReLU, Dense, ReLU, …, Dense, SoftmaxCrossEntropy</c>. Layer l computes <c>Z[l] = W[l]·A[l−1] + b[l]</c>
/// with <c>W[l]</c> of shape sizes[l+1] × sizes[l].
/// </summary>
/// <remarks>
/// Train it with <see cref="Training.Trainer{T}"/> (mini-batches, optimisers, schedules, early stopping, checkpoints) or
/// step by step with <see cref="Network{T}.ComputeGradients(Matrix{T}, ReadOnlySpan{ushort}, NetworkWorkspace{T})"/> and an
/// <see cref="Training.Optimizer{T}"/>.
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class DenseNetwork<T> : Network<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _sizes;
    private readonly Matrix<T>[] _weights;
    private readonly Matrix<T>[] _biases;

    /// <summary>Creates a network with the given layer sizes and seeded initial parameters.</summary>
    /// <param name="layerSizes">Inputs, each hidden layer, outputs: e.g. [784, 256, 10]. At least two sizes, each ≥ 1; at most 65 536 outputs (labels are 16-bit class indices).</param>
    /// <param name="initialization">How the weights are drawn.</param>
    /// <param name="seed">The seed of the initial parameters; equal seeds give equal bits.</param>
    /// <exception cref="ArgumentException">The sizes are not valid.</exception>
    public DenseNetwork(IReadOnlyList<int> layerSizes, Initialization initialization = Initialization.He, long seed = 0)
        : this(CheckSizes(layerSizes))
    {
        if (!Enum.IsDefined(initialization))
        {
            throw new ArgumentOutOfRangeException(nameof(initialization), initialization, "Unknown initialization.");
        }

        Initialize(initialization, seed);
    }

    private DenseNetwork(int[] sizes)
        : base(BuildLayers(sizes))
    {
        _sizes = sizes;
        Dense<T>[] dense = [.. Layers.OfType<Dense<T>>()];
        _weights = [.. dense.Select(d => d.Weight.Value)];
        _biases = [.. dense.Select(d => d.Bias.Value)];
    }

    /// <summary>Gets the layer sizes: inputs, hidden layers, outputs.</summary>
    public IReadOnlyList<int> LayerSizes => _sizes;

    /// <summary>Gets the number of dense layers (one less than the number of sizes).</summary>
    public int LayerCount => _weights.Length;

    /// <summary>Gets each dense layer's weights, sizes[l+1] × sizes[l]. They may be read and changed in place.</summary>
    public IReadOnlyList<Matrix<T>> Weights => _weights;

    /// <summary>Gets each dense layer's biases, sizes[l+1] × 1. They may be read and changed in place.</summary>
    public IReadOnlyList<Matrix<T>> Biases => _biases;

    /// <summary>Gets the architecture as text, e.g. "784-256-10".</summary>
    public override string Architecture => string.Join('-', _sizes);

    /// <summary>Loads a network saved with <see cref="Network{T}.Save"/> (or any safetensors file with the same tensor names).</summary>
    /// <param name="path">The model file.</param>
    /// <returns>The network.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid model; the message says what and where.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static DenseNetwork<T> Load(string path) => ModelFile.Load<T>(path);

    /// <summary>Returns a deep copy.</summary>
    /// <returns>A network with the same sizes and parameter bits.</returns>
    public DenseNetwork<T> Clone()
    {
        var copy = new DenseNetwork<T>([.. _sizes]);
        copy.CopyParametersFrom(this);
        return copy;
    }

    internal static DenseNetwork<T> FromParameters(int[] sizes, IReadOnlyList<Matrix<T>> parameters)
    {
        var network = new DenseNetwork<T>(CheckSizes(sizes));
        for (int p = 0; p < network.Parameters.Count; p++)
        {
            parameters[p].CopyTo(network.Parameters[p].Value);
        }

        return network;
    }

    /// <summary>Draws every layer's parameters from one generator, layer by layer (W then b), so equal seeds give equal bits.</summary>
    internal void Initialize(Initialization initialization, long seed)
    {
        var random = new Prng(seed);
        foreach (Layer<T> layer in Layers)
        {
            layer.Initialize(initialization, random);
        }
    }

    private static List<Layer<T>> BuildLayers(int[] sizes)
    {
        var layers = new List<Layer<T>>();
        for (int l = 0; l + 1 < sizes.Length; l++)
        {
            layers.Add(new Dense<T>(sizes[l], sizes[l + 1]));
            layers.Add(l + 2 < sizes.Length ? new ReLU<T>(sizes[l + 1]) : new SoftmaxCrossEntropy<T>(sizes[l + 1]));
        }

        return layers;
    }

    private static int[] CheckSizes(IReadOnlyList<int> layerSizes)
    {
        ArgumentNullException.ThrowIfNull(layerSizes);
        if (layerSizes.Count < 2)
        {
            throw new ArgumentException($"A network needs at least two layer sizes (inputs and outputs), got {layerSizes.Count}.", nameof(layerSizes));
        }

        int[] sizes = [.. layerSizes];
        for (int i = 0; i < sizes.Length; i++)
        {
            if (sizes[i] < 1)
            {
                throw new ArgumentException($"Layer size {i} is {sizes[i]}; every size must be at least 1.", nameof(layerSizes));
            }
        }

        if (sizes[^1] > SoftmaxCrossEntropy<T>.MaxClasses)
        {
            throw new ArgumentException($"At most 65 536 outputs are supported (labels are 16-bit class indices), got {sizes[^1]}.", nameof(layerSizes));
        }

        return sizes;
    }
}
