using System.Numerics;
using MnistNet.Activations;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Serialization;
using MnistNet.Threading;

namespace MnistNet.Networks;

/// <summary>
/// A network: a sequence of <see cref="Layer{T}"/>s ending with <see cref="SoftmaxCrossEntropy{T}"/>, trained on the mean
/// cross-entropy. Examples are columns: a batch is <see cref="Inputs"/> × m.
/// </summary>
/// <remarks>
/// <para>Every caller goes through one door: <see cref="ComputeGradients(Matrix{T}, ReadOnlySpan{ushort}, NetworkWorkspace{T})"/>
/// picks the fastest kernels for the network's shape — for dense → ReLU → dense → softmax, the fused two-layer step
/// (and, for mostly-zero inputs given as <see cref="SparseColumns{T}"/>, its sparse form); otherwise the layers one by
/// one. The layer-by-layer path (<see cref="ForwardProp"/>, <see cref="Backward"/>) is the readable oracle the fast
/// kernels are tested against.</para>
/// <para>Prediction (<see cref="Predict(Matrix{T})"/>, <see cref="Evaluate"/>) only reads the parameters and uses buffers of
/// its own, so it is safe from many threads at once — while nothing trains the network.</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public class Network<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>
    /// The widest hidden layer the fused dense step serves; wider ones run layer by layer on the packed GEMM, which
    /// splits their products across threads (measured: 784-256-10 at batch 128 takes ~1.5× longer fused on one chunk).
    /// </summary>
    internal const int FusedMaxHidden = 64;

    /// <summary>Columns per chunk in <see cref="Predict(Matrix{T})"/> and <see cref="Evaluate"/>.</summary>
    internal const int PredictChunk = 1024;

    private readonly Layer<T>[] _layers;
    private readonly Parameter<T>[] _parameters;

    /// <summary>Creates a network from its layers (the network takes them over: use each layer in one network only).</summary>
    /// <param name="layers">The layers in order; each one's input size equals the previous one's output size, and the last is a <see cref="SoftmaxCrossEntropy{T}"/>.</param>
    /// <exception cref="ArgumentException">The layers do not chain, or the last is not the loss layer.</exception>
    public Network(IEnumerable<Layer<T>> layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        _layers = [.. layers];
        if (_layers.Length < 2)
        {
            throw new ArgumentException($"A network needs at least one layer before its SoftmaxCrossEntropy output; got {_layers.Length} layer(s).", nameof(layers));
        }

        for (int i = 0; i < _layers.Length; i++)
        {
            if (_layers[i] is null)
            {
                throw new ArgumentException($"Layer {i} is null.", nameof(layers));
            }

            if (i > 0 && _layers[i].InputSize != _layers[i - 1].OutputSize)
            {
                throw new ArgumentException($"Layer {i} ({_layers[i]}) takes {_layers[i].InputSize} inputs, but layer {i - 1} ({_layers[i - 1]}) gives {_layers[i - 1].OutputSize}.", nameof(layers));
            }

            if ((_layers[i] is SoftmaxCrossEntropy<T>) != (i == _layers.Length - 1))
            {
                throw new ArgumentException("The last layer, and only the last, must be a SoftmaxCrossEntropy.", nameof(layers));
            }
        }

        // Parameters are named layers.{l}.{name}, l counting only the layers that have parameters (PyTorch-style files).
        var parameters = new List<Parameter<T>>();
        int index = 0;
        foreach (Layer<T> layer in _layers)
        {
            if (layer.Parameters.Count == 0)
            {
                continue;
            }

            foreach (Parameter<T> parameter in layer.Parameters)
            {
                parameter.SetName($"layers.{index}.{parameter.LocalName}");
                parameters.Add(parameter);
            }

            index++;
        }

        _parameters = [.. parameters];
        FusedPattern = _layers.Length == 4 && _layers[0] is Dense<T> && _layers[1] is ReLU<T> && _layers[2] is Dense<T>;
    }

    /// <summary>Gets the layers in order.</summary>
    public IReadOnlyList<Layer<T>> Layers => _layers;

    /// <summary>Gets every trainable tensor, named <c>layers.{l}.weight</c> / <c>.bias</c>, in layer order: what optimisers, model files and checkpoints walk.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Gets the number of inputs per example (784 for MNIST).</summary>
    public int Inputs => _layers[0].InputSize;

    /// <summary>Gets the number of outputs (classes).</summary>
    public int Outputs => _layers[^1].OutputSize;

    /// <summary>Gets the number of trainable parameters.</summary>
    public long ParameterCount
    {
        get
        {
            long count = 0;
            foreach (Parameter<T> p in _parameters)
            {
                count += (long)p.Value.Rows * p.Value.Columns;
            }

            return count;
        }
    }

    /// <summary>
    /// Gets the architecture as text: "784-256-10" for a <see cref="DenseNetwork{T}"/>; for other networks of MnistNet's
    /// layers the full form of <see cref="NetworkSpec"/> (e.g. "1x28x28:conv32k5,pool,relu,dense10"), which model files
    /// store and <see cref="ModelFile.LoadNetwork{T}"/> rebuilds; else (a layer of your own) the layers' descriptions.
    /// </summary>
    public virtual string Architecture => NetworkSpec.Describe(_layers) ?? string.Join(", ", _layers.Select(l => l.ToString()));

    /// <summary>Gets whether the layers are dense → ReLU → dense → softmax, the shape the fused two-layer kernels serve.</summary>
    internal bool FusedPattern { get; }

    /// <summary>Saves the network's parameters in the safetensors layout, atomically (a failed save leaves any previous file intact).</summary>
    /// <param name="path">The model file to write.</param>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Save(string path) => ModelFile.Save(this, path);

    /// <summary>
    /// Forward pass of a batch into <paramref name="workspace"/>, layer by layer; returns the probabilities (outputs × m, a workspace buffer).
    /// </summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m, one example per column.</param>
    /// <param name="workspace">Buffers for m columns.</param>
    /// <returns>The last layer's output, <c>workspace.Output</c>.</returns>
    /// <exception cref="ArgumentException">A shape does not match.</exception>
    public Matrix<T> ForwardProp(Matrix<T> x, NetworkWorkspace<T> workspace)
    {
        CheckBatch(x, workspace);
        workspace.Context.Begin(x.Columns, default, training: false);
        Forward(x, workspace.Context, workspace.OutputBuffers);
        return workspace.Output;
    }

    /// <summary>
    /// Forward and backward pass of a batch: fills <paramref name="workspace"/>'s gradients of the mean cross-entropy
    /// with respect to every parameter, and returns that mean loss. Allocates nothing. This is the door every trainer
    /// goes through: it runs the fastest kernels for the network's shape.
    /// </summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="labels">The m labels, each below <see cref="Outputs"/>.</param>
    /// <param name="workspace">Buffers for m columns.</param>
    /// <returns>The mean cross-entropy of the batch (computed from the logits).</returns>
    /// <exception cref="ArgumentException">A shape or length does not match.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public double ComputeGradients(Matrix<T> x, ReadOnlySpan<ushort> labels, NetworkWorkspace<T> workspace)
    {
        CheckTrainingBatch(x, labels, workspace);
        if (FusedPattern && _layers[0].OutputSize <= FusedMaxHidden)
        {
            workspace.Context.Begin(x.Columns, labels, training: true);
            return workspace.Fused.Run(this, x) / x.Columns;
        }

        return ComputeGradientsByLayer(x, labels, workspace);
    }

    /// <summary>
    /// Forward and backward pass of a batch of mostly-zero inputs, doing the first layer's work only for the non-zero
    /// entries. Needs a dense → ReLU → dense → softmax network. Allocates nothing.
    /// </summary>
    /// <param name="x">The batch, built once with <see cref="SparseColumns{T}.FromDense"/>.</param>
    /// <param name="labels">The m labels.</param>
    /// <param name="workspace">Buffers for m columns.</param>
    /// <returns>The mean cross-entropy of the batch.</returns>
    /// <exception cref="ArgumentException">A shape or length does not match, or the batch is empty.</exception>
    /// <exception cref="NotSupportedException">The network is not dense → ReLU → dense → softmax.</exception>
    public double ComputeGradients(SparseColumns<T> x, ReadOnlySpan<ushort> labels, NetworkWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(workspace);
        if (x.Rows != Inputs)
        {
            throw new ArgumentException($"Expected inputs with {Inputs} rows (one example per column), got {x.Rows} × {x.Columns}.", nameof(x));
        }

        CheckWorkspace(x.Columns, workspace, training: true);
        CheckLabels(x.Columns, labels);
        if (!FusedPattern)
        {
            throw new NotSupportedException($"Sparse input is supported for dense → ReLU → dense → softmax networks; this one is {Architecture}.");
        }

        workspace.Context.Begin(x.Columns, labels, training: true);
        return workspace.Fused.Run(this, x) / x.Columns;
    }

    /// <summary>
    /// Gathers the examples at <paramref name="indices"/> from <paramref name="data"/> into the workspace and computes their
    /// mean loss and gradients, as <see cref="ComputeGradients(Matrix{T}, ReadOnlySpan{ushort}, NetworkWorkspace{T})"/> does. This
    /// is the door mini-batch training goes through: for mostly-zero data (MNIST: 19 % non-zero pixels) and a dense first
    /// layer, that layer's forward pass and weight gradient run on the non-zero pixels only (see
    /// <see cref="NetworkWorkspace{T}.InputMode"/>), split across threads by hidden units. Allocates nothing.
    /// </summary>
    /// <param name="data">Labelled images of <see cref="Inputs"/> pixels.</param>
    /// <param name="indices">The batch: one image index per workspace column.</param>
    /// <param name="workspace">Buffers for <c>indices.Length</c> columns; afterwards its <see cref="NetworkWorkspace{T}.Labels"/> hold the batch's labels (and, on the dense path, <see cref="NetworkWorkspace{T}.Input"/> its pixels).</param>
    /// <returns>The mean cross-entropy of the batch.</returns>
    /// <exception cref="ArgumentException">A shape or length does not match, or the data has no labels.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An index or a label is out of range.</exception>
    public double ComputeGradients(Dataset data, ReadOnlySpan<int> indices, NetworkWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(workspace);
        CheckPixels(data);
        if (!data.HasLabels)
        {
            throw new ArgumentException("Training needs labelled images.", nameof(data));
        }

        CheckWorkspace(indices.Length, workspace, training: true);
        if (!UsesSparseInput(data, workspace.InputMode))
        {
            data.CopyBatchTo(indices, workspace.Input, workspace.Labels);
            return ComputeGradients(workspace.Input, workspace.Labels, workspace);
        }

        data.CopyLabelsTo(indices, workspace.Labels);
        CheckLabels(indices.Length, workspace.Labels);
        LayerContext context = workspace.Context;
        SparseBatch<T> x = workspace.SparseInput;
        int threads = Math.Min(MnistNetRuntime.MaxDegreeOfParallelism, WorkerPool.Shared.MaxParticipants);
        // Stryker disable once Equality,Logical,Boolean : which order the work runs in changes speed only: the same values either way (SparseInputTests, ThreadCountTests)
        bool overlap = threads > 1 && SmallAboveFirst(indices.Length);
        // The batch is read where it lies in the data set's sparse index; the first layer's forward pass counts its rows.
        x.Select(data, indices);
        context.Begin(indices.Length, workspace.Labels, training: true);
        Matrix<T>[] outputs = workspace.OutputBuffers;
        Matrix<T>[] inputGradients = workspace.InputGradientBuffers;
        var first = (Dense<T>)_layers[0];

        // The first layer on the non-zero pixels, the rest layer by layer, and back down to the first layer's weights.
        first.ForwardSparse(context, x, workspace.SparseKernels, outputs[0]);
        if (overlap)
        {
            // Layers this small run on one thread anyway: meanwhile a second thread groups the batch by row, which only
            // the first layer's weight gradient reads, from the row counts the forward pass made.
            workspace.AboveFirst.Run(this, workspace, threads);
        }
        else
        {
            ForwardBackwardAboveFirst(outputs, inputGradients, workspace.GradientBuffers, context);
            x.GroupByRow();     // for the weight gradient, from the forward pass's counts
        }

        first.BackwardSparse(context, x, workspace.SparseKernels, inputGradients[1], workspace.GradientBuffers.AsSpan(0, first.Parameters.Count));
        return context.LossSum / indices.Length;
    }

    /// <summary>The layers above the first, forward and back down to the first layer's output gradient.</summary>
    internal void ForwardBackwardAboveFirst(Matrix<T>[] outputs, Matrix<T>[] inputGradients, Matrix<T>[] gradients, LayerContext context)
    {
        for (int i = 1; i < _layers.Length; i++)
        {
            context.LayerIndex = i;
            _layers[i].Forward(context, outputs[i - 1], outputs[i]);
        }

        BackwardFrom(1, outputs[0], context, outputs, inputGradients, gradients);
    }

    /// <summary>Whether every product of the layers above the first is too small for the matrix kernels to split across threads, for batches of <paramref name="columns"/>.</summary>
    /// <remarks>Decides only where the layers above run (beside the row grouping, or with their own products on two threads): a speed choice.</remarks>
    private bool SmallAboveFirst(int columns)
    {
        // Stryker disable all : a speed choice only (see remarks); both ways give the same values
        for (int i = 1; i < _layers.Length; i++)
        {
            if (_layers[i] is Dense<T> dense && (long)dense.InputSize * dense.OutputSize * columns >= MatrixKernels.ParallelThreshold)
            {
                return false;
            }

            if (_layers[i] is not Dense<T> && _layers[i].Parameters.Count > 0)
            {
                return false;
            }
        }

        return true;

        // Stryker restore all
    }

    /// <summary>Whether a batch of <paramref name="data"/> reaches the first layer as its non-zeros.</summary>
    internal bool UsesSparseInput(Dataset data, InputMode mode)
    {
        bool possible = _layers[0] is Dense<T> && Inputs <= SparseColumns<T>.MaxRows;
        return mode switch
        {
            InputMode.Dense => false,
            InputMode.Sparse when !possible => throw new NotSupportedException($"Sparse input needs a dense first layer of at most {SparseColumns<T>.MaxRows} inputs; this network is {Architecture}."),
            InputMode.Sparse => true,
            _ => possible && data.Density < SparseColumns<T>.RecommendedMaxDensity,
        };
    }

    /// <summary>The readable path: every layer's forward, then every layer's backward; returns the mean loss. The caller has checked the arguments.</summary>
    internal double ComputeGradientsByLayer(Matrix<T> x, ReadOnlySpan<ushort> labels, NetworkWorkspace<T> workspace)
    {
        LayerContext context = workspace.Context;
        context.Begin(x.Columns, labels, training: true);
        Forward(x, context, workspace.OutputBuffers);
        Backward(x, context, workspace.OutputBuffers, workspace.InputGradientBuffers, workspace.GradientBuffers);
        return context.LossSum / x.Columns;
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

    /// <summary>The seed's <c>get_accuracy</c> on inputs: the fraction of the columns of <paramref name="x"/> whose predicted class equals the label.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="labels">The m labels.</param>
    /// <returns>The accuracy in [0, 1]; 0 for an empty batch.</returns>
    /// <exception cref="ArgumentException">A shape or length does not match.</exception>
    public double GetAccuracy(Matrix<T> x, ReadOnlySpan<ushort> labels)
    {
        ArgumentNullException.ThrowIfNull(x);
        CrossEntropy.RequireOneLabelPerColumn(x.Columns, labels, nameof(labels));
        return ClassificationMetrics.FractionCorrect(Predict(x), labels);
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
        ReadOnlySpan<ushort> labels = data.Labels;
        CrossEntropy.ValidateLabels(labels, Outputs, nameof(data));
        var predictions = new int[data.Count];
        double loss = 0;
        RunChunks(data.Count, (chunk, c0, c1) => CopyImages(data, c0, c1, chunk), predictions, l => loss += l);
        // An empty dataset gives 0 / 0: a NaN loss.
        return ClassificationMetrics.From(predictions, labels, Outputs, loss / data.Count);
    }

    /// <summary>Returns the mean cross-entropy of the network on (<paramref name="x"/>, <paramref name="labels"/>). Thread-safe.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m (m ≥ 1).</param>
    /// <param name="labels">The m labels.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentException">A shape or length does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public double Loss(Matrix<T> x, ReadOnlySpan<ushort> labels)
    {
        CheckLabelledBatch(x, labels);
        if (x.Columns == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(x));
        }

        // Stryker disable once Boolean : buffers only (a workspace made for training also holds gradient and input buffers); the values are the same
        var workspace = new NetworkWorkspace<T>(this, x.Columns, training: false, input: false);
        workspace.Context.Begin(x.Columns, labels, training: false);
        Forward(x, workspace.Context, workspace.OutputBuffers);
        return workspace.Context.LossSum / x.Columns;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{GetType().Name.Split('`')[0]}<{typeof(T).Name}> {Architecture} ({ParameterCount} parameters)";

    /// <summary>Copies every parameter's values from a network of the same shape.</summary>
    internal void CopyParametersFrom(Network<T> other)
    {
        for (int p = 0; p < _parameters.Length; p++)
        {
            other._parameters[p].Value.CopyTo(_parameters[p].Value);
        }
    }

    internal bool SameShape(Network<T> other)
    {
        if (other._layers.Length != _layers.Length)
        {
            return false;
        }

        for (int i = 0; i < _layers.Length; i++)
        {
            // Each layer's output size is the next one's input size, and the loss layer's output is its input: kinds
            // and input sizes decide the shape.
            if (other._layers[i].GetType() != _layers[i].GetType() || other._layers[i].InputSize != _layers[i].InputSize)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Every layer's forward pass in order; the loss layer adds the summed loss to the context when it has labels.</summary>
    internal void Forward(Matrix<T> x, LayerContext context, Matrix<T>[] outputs)
    {
        Matrix<T> input = x;
        for (int i = 0; i < _layers.Length; i++)
        {
            context.LayerIndex = i;
            _layers[i].Forward(context, input, outputs[i]);
            input = outputs[i];
        }
    }

    /// <summary>Every layer's backward pass from the top down, after <see cref="Forward"/> on the same batch.</summary>
    internal void Backward(Matrix<T> x, LayerContext context, Matrix<T>[] outputs, Matrix<T>[] inputGradients, Matrix<T>[] gradients) =>
        BackwardFrom(0, x, context, outputs, inputGradients, gradients);

    /// <summary>The backward passes of layers from the top down to <paramref name="lowest"/>, whose input is <paramref name="x"/> (the batch, or the output below it).</summary>
    private void BackwardFrom(int lowest, Matrix<T> x, LayerContext context, Matrix<T>[] outputs, Matrix<T>[] inputGradients, Matrix<T>[] gradients)
    {
        int p = _parameters.Length;
        for (int i = _layers.Length - 1; i >= lowest; i--)
        {
            Layer<T> layer = _layers[i];
            int count = layer.Parameters.Count;
            p -= count;
            Matrix<T> input = i == lowest ? x : outputs[i - 1];
            Matrix<T>? outputGradient = i == _layers.Length - 1 ? null : inputGradients[i + 1];
            context.LayerIndex = i;
            layer.Backward(context, input, outputs[i], outputGradient, i == 0 ? null : inputGradients[i], gradients.AsSpan(p, count));
        }
    }

    private void RunChunks(int count, Action<NetworkWorkspace<T>, int, int> fill, int[] predictions, Action<double>? lossSink)
    {
        if (count == 0)
        {
            return;
        }

        // Stryker disable once Boolean : buffers only (a workspace made for training also holds gradient buffers); the values are the same
        var full = new NetworkWorkspace<T>(this, Math.Min(PredictChunk, count), training: false);
        NetworkWorkspace<T>? tail = null;
        for (int c0 = 0; c0 < count; c0 += PredictChunk)
        {
            int c1 = Math.Min(c0 + PredictChunk, count);
            // Stryker disable once Boolean,Assignment : buffers only (the tail workspace is made once, for prediction); the values are the same
            NetworkWorkspace<T> chunk = c1 - c0 == full.Columns ? full : (tail ??= new NetworkWorkspace<T>(this, c1 - c0, training: false));
            fill(chunk, c0, c1);
            chunk.Context.Begin(c1 - c0, lossSink is null ? default : chunk.Labels, training: false);
            Forward(chunk.Input, chunk.Context, chunk.OutputBuffers);
            lossSink?.Invoke(chunk.Context.LossSum);
            ClassificationMetrics.ArgMax(chunk.Output, predictions.AsSpan(c0, c1 - c0));
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
        // Stryker disable once Equality,Conditional : where the indices live (stack up to 1 024, else heap) changes no value
        Span<int> indices = c1 - c0 <= 1024 ? stackalloc int[c1 - c0] : new int[c1 - c0];
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = c0 + i;
        }

        data.CopyBatchTo(indices, chunk.Input, data.HasLabels ? chunk.Labels : default);
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

    /// <summary>Checks x's rows and that labels has one valid label per column.</summary>
    internal void CheckLabelledBatch(Matrix<T> x, ReadOnlySpan<ushort> labels)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckRows(x);
        CheckLabels(x.Columns, labels);
    }

    private void CheckLabels(int columns, ReadOnlySpan<ushort> labels)
    {
        CrossEntropy.RequireOneLabelPerColumn(columns, labels, nameof(labels));
        CrossEntropy.ValidateLabels(labels, Outputs, nameof(labels));
    }

    private void CheckBatch(Matrix<T> x, NetworkWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(workspace);
        CheckRows(x);
        CheckWorkspace(x.Columns, workspace, training: false);
    }

    private void CheckTrainingBatch(Matrix<T> x, ReadOnlySpan<ushort> labels, NetworkWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(workspace);
        CheckRows(x);
        CheckWorkspace(x.Columns, workspace, training: true);
        CheckLabels(x.Columns, labels);
    }

    private void CheckWorkspace(int columns, NetworkWorkspace<T> workspace, bool training)
    {
        if (columns != workspace.Columns)
        {
            throw new ArgumentException($"The workspace is sized for {workspace.Columns} columns, but the batch has {columns}.", nameof(workspace));
        }

        if (!workspace.Fits(this))
        {
            throw new ArgumentException($"The workspace was made for a network of another shape, not {Architecture}.", nameof(workspace));
        }

        if (training && !workspace.IsTraining)
        {
            throw new ArgumentException("The workspace holds only forward buffers; training needs one made with new NetworkWorkspace<T>(network, columns).", nameof(workspace));
        }
    }
}
