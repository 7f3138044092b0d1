using System.Numerics;
using System.Numerics.Tensors;
using MnistNet.Activations;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.LinearAlgebra;
using MnistNet.Serialization;

namespace MnistNet.Networks;

/// <summary>
/// A stack of fully connected layers — ReLU on every hidden layer, softmax with cross-entropy on the last — such as
/// 784-256-10 or 784-512-256-10. Examples are columns, as in <see cref="TwoLayerNetwork{T}"/>: layer l computes
/// <c>Z[l] = W[l]·A[l−1] + b[l]</c> with <c>W[l]</c> of shape sizes[l+1] × sizes[l].
/// </summary>
/// <remarks>
/// Train it with <see cref="Training.Trainer{T}"/> (mini-batches, optimisers, schedules, early stopping, checkpoints) or
/// step by step with <see cref="ComputeGradients"/> and an <see cref="Training.Optimizer{T}"/>. Prediction
/// (<see cref="Predict(Matrix{T})"/>, <see cref="Evaluate"/>) only reads the parameters and uses buffers of its own, so it
/// is safe from many threads at once — while nothing trains the network.
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class DenseNetwork<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Columns per chunk in <see cref="Predict(Matrix{T})"/> and <see cref="Evaluate"/>.</summary>
    internal const int PredictChunk = 1024;

    private readonly int[] _sizes;
    private readonly Matrix<T>[] _weights;
    private readonly Matrix<T>[] _biases;
    private readonly Matrix<T>[] _parameters;

    /// <summary>Creates a network with the given layer sizes and seeded initial parameters.</summary>
    /// <param name="layerSizes">Inputs, each hidden layer, outputs: e.g. [784, 256, 10]. At least two sizes, each ≥ 1; at most 256 outputs (labels are bytes).</param>
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
    {
        _sizes = sizes;
        int layers = sizes.Length - 1;
        _weights = new Matrix<T>[layers];
        _biases = new Matrix<T>[layers];
        _parameters = new Matrix<T>[2 * layers];
        for (int l = 0; l < layers; l++)
        {
            _weights[l] = new Matrix<T>(sizes[l + 1], sizes[l]);
            _biases[l] = new Matrix<T>(sizes[l + 1], 1);
            _parameters[2 * l] = _weights[l];
            _parameters[(2 * l) + 1] = _biases[l];
        }
    }

    /// <summary>Gets the layer sizes: inputs, hidden layers, outputs.</summary>
    public IReadOnlyList<int> LayerSizes => _sizes;

    /// <summary>Gets the number of weight layers (one less than the number of sizes).</summary>
    public int LayerCount => _weights.Length;

    /// <summary>Gets the number of inputs (784 for MNIST).</summary>
    public int Inputs => _sizes[0];

    /// <summary>Gets the number of outputs (classes).</summary>
    public int Outputs => _sizes[^1];

    /// <summary>Gets each layer's weights, sizes[l+1] × sizes[l]. They may be read and changed in place.</summary>
    public IReadOnlyList<Matrix<T>> Weights => _weights;

    /// <summary>Gets each layer's biases, sizes[l+1] × 1. They may be read and changed in place.</summary>
    public IReadOnlyList<Matrix<T>> Biases => _biases;

    /// <summary>Gets the number of trainable parameters.</summary>
    public long ParameterCount
    {
        get
        {
            long count = 0;
            for (int l = 0; l < LayerCount; l++)
            {
                count += ((long)_sizes[l] + 1) * _sizes[l + 1];
            }

            return count;
        }
    }

    /// <summary>Gets the parameters in optimiser order: W[0], b[0], W[1], b[1], …</summary>
    internal Matrix<T>[] Parameters => _parameters;

    /// <summary>Gets the architecture as text, e.g. "784-256-10".</summary>
    public string Architecture => string.Join('-', _sizes);

    /// <summary>Loads a network saved with <see cref="Save"/> (or any safetensors file with the same tensor names).</summary>
    /// <param name="path">The model file.</param>
    /// <returns>The network.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid model; the message says what and where.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static DenseNetwork<T> Load(string path) => ModelFile.Load<T>(path);

    /// <summary>Saves the network in the safetensors layout, atomically (a failed save leaves any previous file intact).</summary>
    /// <param name="path">The model file to write.</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path) => ModelFile.Save(this, path);

    /// <summary>Returns a deep copy.</summary>
    /// <returns>A network with the same sizes and parameter bits.</returns>
    public DenseNetwork<T> Clone()
    {
        var copy = new DenseNetwork<T>([.. _sizes]);
        copy.CopyParametersFrom(this);
        return copy;
    }

    /// <summary>
    /// Forward pass of a batch into <paramref name="workspace"/>; returns the probabilities (outputs × m, a workspace buffer).
    /// </summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m, one example per column.</param>
    /// <param name="workspace">Buffers for m columns.</param>
    /// <returns>The last layer's activations, <c>workspace.Output</c>.</returns>
    /// <exception cref="ArgumentException">A shape does not match.</exception>
    public Matrix<T> ForwardProp(Matrix<T> x, NetworkWorkspace<T> workspace)
    {
        CheckBatch(x, workspace);
        ForwardCore(x, workspace, default);
        return workspace.Output;
    }

    /// <summary>
    /// Forward and backward pass of a batch: fills <paramref name="workspace"/>'s gradients of the mean cross-entropy
    /// with respect to every weight and bias, and returns that mean loss. Allocates nothing.
    /// </summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="labels">The m labels, each below <see cref="Outputs"/>.</param>
    /// <param name="workspace">Buffers for m columns.</param>
    /// <returns>The mean cross-entropy of the batch (computed from the logits).</returns>
    /// <exception cref="ArgumentException">A shape or length does not match.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public double ComputeGradients(Matrix<T> x, ReadOnlySpan<byte> labels, NetworkWorkspace<T> workspace)
    {
        CheckBatch(x, workspace);
        CrossEntropy.RequireOneLabelPerColumn(x.Columns, labels, nameof(labels));
        CrossEntropy.ValidateLabels(labels, Outputs, nameof(labels));
        double loss = ForwardCore(x, workspace, labels);
        BackwardCore(x, labels, workspace);
        return loss / x.Columns;
    }

    /// <summary>Returns the predicted class (the most probable, first on ties) of each column of <paramref name="x"/>.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <returns>m class indices.</returns>
    /// <remarks>Works in chunks of 1 024 columns with buffers of its own: safe from many threads at once.</remarks>
    /// <exception cref="ArgumentException"><paramref name="x"/> has the wrong number of rows.</exception>
    public int[] Predict(Matrix<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckRows(x);
        var predictions = new int[x.Columns];
        RunChunks(x.Columns, (chunk, c0, c1) => CopyColumns(x, c0, c1, chunk.Input), predictions, null);
        return predictions;
    }

    /// <summary>Returns the predicted class of every image of <paramref name="data"/>.</summary>
    /// <param name="data">Images of <see cref="Inputs"/> pixels.</param>
    /// <returns>One class index per image.</returns>
    /// <remarks>Safe from many threads at once.</remarks>
    /// <exception cref="ArgumentException">The images do not have <see cref="Inputs"/> pixels.</exception>
    public int[] Predict(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckPixels(data);
        var predictions = new int[data.Count];
        RunChunks(data.Count, (chunk, c0, c1) => CopyImages(data, c0, c1, chunk), predictions, null);
        return predictions;
    }

    /// <summary>Returns the fraction of the columns of <paramref name="x"/> whose predicted class equals the label.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="labels">The m labels.</param>
    /// <returns>The accuracy in [0, 1].</returns>
    /// <exception cref="ArgumentException">A shape or length does not match.</exception>
    public double GetAccuracy(Matrix<T> x, ReadOnlySpan<byte> labels)
    {
        int[] predictions = Predict(x);
        CrossEntropy.RequireOneLabelPerColumn(predictions.Length, labels, nameof(labels));
        int correct = 0;
        for (int j = 0; j < predictions.Length; j++)
        {
            correct += predictions[j] == labels[j] ? 1 : 0;
        }

        return predictions.Length == 0 ? 0 : (double)correct / predictions.Length;
    }

    /// <summary>Evaluates the network on a labelled dataset: mean loss, accuracy, confusion matrix and per-class scores.</summary>
    /// <param name="data">Labelled images of <see cref="Inputs"/> pixels.</param>
    /// <returns>The metrics.</returns>
    /// <remarks>Safe from many threads at once.</remarks>
    /// <exception cref="ArgumentException">The images do not have <see cref="Inputs"/> pixels, or a label is not below <see cref="Outputs"/>.</exception>
    /// <exception cref="InvalidOperationException">The dataset has no labels.</exception>
    public ClassificationMetrics Evaluate(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckPixels(data);
        ReadOnlySpan<byte> labels = data.Labels;
        CrossEntropy.ValidateLabels(labels, Outputs, nameof(data));
        var predictions = new int[data.Count];
        double loss = 0;
        RunChunks(data.Count, (chunk, c0, c1) => CopyImages(data, c0, c1, chunk), predictions, l => loss += l);
        return ClassificationMetrics.From(predictions, labels, Outputs, data.Count == 0 ? double.NaN : loss / data.Count);
    }

    /// <summary>Returns the mean cross-entropy of the network on (<paramref name="x"/>, <paramref name="labels"/>).</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m (m ≥ 1).</param>
    /// <param name="labels">The m labels.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentException">A shape or length does not match.</exception>
    public double Loss(Matrix<T> x, ReadOnlySpan<byte> labels)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckRows(x);
        CrossEntropy.RequireOneLabelPerColumn(x.Columns, labels, nameof(labels));
        CrossEntropy.ValidateLabels(labels, Outputs, nameof(labels));
        if (x.Columns == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(x));
        }

        var workspace = new NetworkWorkspace<T>(this, x.Columns, training: false);
        return ForwardCore(x, workspace, labels) / x.Columns;
    }

    /// <inheritdoc/>
    public override string ToString() => $"DenseNetwork<{typeof(T).Name}> {Architecture} ({ParameterCount} parameters)";

    internal static DenseNetwork<T> FromParameters(int[] sizes, IReadOnlyList<Matrix<T>> parameters)
    {
        var network = new DenseNetwork<T>(CheckSizes(sizes));
        for (int p = 0; p < network._parameters.Length; p++)
        {
            parameters[p].CopyTo(network._parameters[p]);
        }

        return network;
    }

    internal void CopyParametersFrom(DenseNetwork<T> other)
    {
        for (int p = 0; p < _parameters.Length; p++)
        {
            other._parameters[p].CopyTo(_parameters[p]);
        }
    }

    /// <summary>Forward pass; returns the summed loss when <paramref name="labels"/> is not empty (else 0).</summary>
    internal double ForwardCore(Matrix<T> x, NetworkWorkspace<T> workspace, ReadOnlySpan<byte> labels)
    {
        int m = x.Columns;
        Matrix<T> input = x;
        int last = LayerCount - 1;
        double lossSum = 0;
        for (int l = 0; l <= last; l++)
        {
            Matrix<T> z = workspace.Z[l];
            Matrix<T> a = workspace.A[l];
            Matrix<T>.Multiply(_weights[l], input, z);
            z.AddColumnVector(_biases[l]);
            if (l < last)
            {
                Activation.ReLU(z, a);
            }
            else
            {
                Activation.SoftmaxColumns(z, a, 0, m, labels, out lossSum);
            }

            input = a;
        }

        return lossSum;
    }

    /// <summary>Back-propagation after <see cref="ForwardCore"/> with the same batch.</summary>
    internal void BackwardCore(Matrix<T> x, ReadOnlySpan<byte> labels, NetworkWorkspace<T> workspace)
    {
        int m = x.Columns;
        int last = LayerCount - 1;
        T inverseM = T.One / T.CreateTruncating(m);

        // dZ = A − onehot(Y) for softmax with cross-entropy.
        Matrix<T> dz = workspace.DZ[last];
        workspace.A[last].CopyTo(dz);
        for (int j = 0; j < m; j++)
        {
            dz[labels[j], j] -= T.One;
        }

        for (int l = last; l >= 0; l--)
        {
            dz = workspace.DZ[l];
            Matrix<T> previous = l == 0 ? x : workspace.A[l - 1];
            Matrix<T> dw = workspace.WeightGradients[l];
            Matrix<T> db = workspace.BiasGradients[l];
            Matrix<T>.MultiplyByTranspose(dz, previous, dw);
            TensorPrimitives.Multiply(dw.AsSpan(), inverseM, dw.AsSpan());
            dz.SumRows(db);
            TensorPrimitives.Multiply(db.AsSpan(), inverseM, db.AsSpan());

            if (l > 0)
            {
                // dZ[l−1] = (W[l]ᵀ·dZ[l]) ⊙ [Z[l−1] > 0]
                Matrix<T> below = workspace.DZ[l - 1];
                Matrix<T>.TransposeAndMultiply(_weights[l], dz, below);
                Activation.ReLUBackward(below, workspace.Z[l - 1], below);
            }
        }
    }

    private void RunChunks(int count, Action<NetworkWorkspace<T>, int, int> fill, int[] predictions, Action<double>? lossSink)
    {
        if (count == 0)
        {
            return;
        }

        var full = new NetworkWorkspace<T>(this, Math.Min(PredictChunk, count), training: false);
        NetworkWorkspace<T>? tail = null;
        for (int c0 = 0; c0 < count; c0 += PredictChunk)
        {
            int c1 = Math.Min(c0 + PredictChunk, count);
            NetworkWorkspace<T> chunk = c1 - c0 == full.Columns ? full : (tail ??= new NetworkWorkspace<T>(this, c1 - c0, training: false));
            fill(chunk, c0, c1);
            double loss = ForwardCore(chunk.Input, chunk, lossSink is null ? default : chunk.Labels);
            lossSink?.Invoke(loss);
            TwoLayerNetwork<T>.GetPredictions(chunk.Output, predictions.AsSpan(c0, c1 - c0));
        }
    }

    private static void CopyColumns(Matrix<T> x, int c0, int c1, Matrix<T> destination)
    {
        for (int r = 0; r < x.Rows; r++)
        {
            x.Row(r)[c0..c1].CopyTo(destination.Row(r));
        }
    }

    private static void CopyImages(Dataset data, int c0, int c1, NetworkWorkspace<T> chunk)
    {
        Span<int> indices = c1 - c0 <= 1024 ? stackalloc int[c1 - c0] : new int[c1 - c0];
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = c0 + i;
        }

        data.CopyBatchTo(indices, chunk.Input, data.HasLabels ? chunk.Labels : default);
    }

    private void Initialize(Initialization initialization, long seed)
    {
        var random = new Prng(seed);
        for (int l = 0; l < LayerCount; l++)
        {
            int fanIn = _sizes[l];
            int fanOut = _sizes[l + 1];
            switch (initialization)
            {
                case Initialization.Uniform:
                    _weights[l].FillUniform(T.CreateTruncating(-0.5), T.CreateTruncating(0.5), random);
                    _biases[l].FillUniform(T.CreateTruncating(-0.5), T.CreateTruncating(0.5), random);
                    break;
                case Initialization.Glorot:
                    T limit = T.CreateTruncating(Math.Sqrt(6.0 / (fanIn + fanOut)));
                    _weights[l].FillUniform(-limit, limit, random);
                    break;
                default:
                    double sigma = Math.Sqrt(2.0 / fanIn);
                    for (int r = 0; r < fanOut; r++)
                    {
                        Span<T> row = _weights[l].Row(r);
                        for (int c = 0; c < row.Length; c++)
                        {
                            row[c] = T.CreateTruncating(sigma * NextGaussian(random));
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>A standard normal draw (Box–Muller, one value per call so the sequence depends only on the seed).</summary>
    private static double NextGaussian(Prng random)
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private void CheckRows(Matrix<T> x)
    {
        if (x.Rows != Inputs)
        {
            throw new ArgumentException($"Expected inputs with {Inputs} rows (one example per column), got {x.Rows} × {x.Columns}.", nameof(x));
        }
    }

    private void CheckPixels(Dataset data)
    {
        if (data.PixelsPerImage != Inputs)
        {
            throw new ArgumentException($"The network has {Inputs} inputs, but the images have {data.PixelsPerImage} pixels ({data.ImageRows} × {data.ImageColumns}).", nameof(data));
        }
    }

    private void CheckBatch(Matrix<T> x, NetworkWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(workspace);
        CheckRows(x);
        if (x.Columns != workspace.Columns)
        {
            throw new ArgumentException($"The workspace is sized for {workspace.Columns} columns, but the batch has {x.Columns}.", nameof(workspace));
        }

        if (!workspace.Fits(this))
        {
            throw new ArgumentException($"The workspace was made for a {string.Join('-', workspace.Sizes)} network, not {Architecture}.", nameof(workspace));
        }
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

        if (sizes[^1] > 256)
        {
            throw new ArgumentException($"At most 256 outputs are supported (labels are bytes), got {sizes[^1]}.", nameof(layerSizes));
        }

        return sizes;
    }
}
