using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using MnistNet.Data;
using MnistNet.Diagnostics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Serialization;

namespace MnistNet.Training;

/// <summary>
/// Trains a <see cref="Network{T}"/> by mini-batch gradient descent with an <see cref="Optimizer{T}"/>: a seeded
/// shuffle per epoch, a learning-rate schedule, dev metrics and early stopping, checkpoints that resume to the same bits.
/// </summary>
/// <remarks>
/// <para>Determinism: the shuffle of epoch e depends only on the seed and e, and every kernel gives the same bits on any
/// number of threads, so a seeded run always ends with the same parameters — also when it was stopped and resumed from
/// a checkpoint.</para>
/// <para>A step allocates nothing: batches are assembled into buffers allocated once per <see cref="Fit"/>.</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Trainer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly TrainingState<T> _state = new();

    /// <summary>Creates a trainer.</summary>
    /// <param name="network">The network to train (changed in place).</param>
    /// <param name="optimizer">The optimiser (its state belongs to this network from the first step on).</param>
    /// <param name="options">Epochs, batch size and the rest; null for the defaults.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range.</exception>
    public Trainer(Network<T> network, Optimizer<T> optimizer, TrainingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        options ??= new TrainingOptions();
        options.Validate();
        Network = network;
        Optimizer = optimizer;
        Options = options;
    }

    /// <summary>Gets the network being trained.</summary>
    public Network<T> Network { get; }

    /// <summary>Gets the optimiser.</summary>
    public Optimizer<T> Optimizer { get; }

    /// <summary>Gets the options.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Gets the number of completed epochs.</summary>
    public int CompletedEpochs => _state.Epoch;

    /// <summary>Gets the number of optimiser steps since the start of training.</summary>
    public long Steps
    {
        get => _state.Steps;
        private set => _state.Steps = value;
    }

    /// <summary>Gets the position in training and the early-stopping state, which checkpoints save and restore.</summary>
    internal TrainingState<T> State => _state;

    /// <summary>
    /// Restores a trainer from a checkpoint written by <see cref="SaveCheckpoint"/> (or through
    /// <see cref="TrainingOptions.CheckpointPath"/>): the network, the optimiser and its state, the epoch and step, and
    /// the early-stopping state. <see cref="Fit"/> then continues where the checkpoint was taken.
    /// </summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="options">
    /// The options of the continued run; seed and batch size must be those of the checkpoint. With the same epoch count
    /// and schedule as the interrupted run, the final parameters are bit-identical to an uninterrupted run's.
    /// </param>
    /// <returns>The trainer.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid MnistNet checkpoint.</exception>
    /// <exception cref="ArgumentException">The options' seed or batch size differ from the checkpoint's.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Trainer<T> Resume(string path, TrainingOptions options) => Checkpoint.Load<T>(path, options);

    /// <summary>
    /// Trains until <see cref="TrainingOptions.Epochs"/> epochs are complete (counting those before a resume) or early
    /// stopping ends the run.
    /// </summary>
    /// <param name="train">Labelled training images with <see cref="Network{T}.Inputs"/> pixels.</param>
    /// <param name="dev">Labelled images for per-epoch metrics and early stopping, or null.</param>
    /// <param name="cancellationToken">Checked between steps; on cancellation a checkpoint is written (when configured) and <see cref="OperationCanceledException"/> thrown.</param>
    /// <returns>What happened.</returns>
    /// <exception cref="ArgumentException">The images do not fit the network, or a dataset has no labels.</exception>
    /// <exception cref="TrainingDivergedException">A batch loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="InvalidDataException">A resumed trainer's position (epoch, batch, step count) is impossible for this data and batch size.</exception>
    /// <exception cref="IOException">
    /// The checkpoint (<see cref="TrainingOptions.CheckpointPath"/>) cannot be written: checked before the first step, and
    /// if writing fails later, training stops there with the previous checkpoint intact.
    /// </exception>
    /// <exception cref="UnauthorizedAccessException">The checkpoint's folder is not writable (checked before the first step).</exception>
    public TrainingResult Fit(Dataset train, Dataset? dev = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckData(train, nameof(train));
        if (dev is not null)
        {
            CheckData(dev, nameof(dev));
        }

        if (Options.CheckpointPath is not null)
        {
            // Nothing is lost: a checkpoint that cannot be written fails now, not after the first epoch's work.
            Serialization.AtomicFile.CheckWritable(Options.CheckpointPath);
        }

        var clock = Stopwatch.StartNew();
        int n = train.Count;
        if (_state.TrainCount != 0 && _state.TrainCount != n && (_state.Epoch > 0 || _state.BatchInEpoch > 0))
        {
            throw new ArgumentException($"This training started on {_state.TrainCount} examples; continue it on the same training set (got {n}).", nameof(train));
        }

        _state.TrainCount = n;
        int batch = Options.BatchSize <= 0 ? n : Math.Min(Options.BatchSize, n);
        int stepsPerEpoch = (n + batch - 1) / batch;
        if (_state.BatchInEpoch >= stepsPerEpoch || Steps != ((long)_state.Epoch * stepsPerEpoch) + _state.BatchInEpoch)
        {
            // A resumed position that this data and batch size cannot have produced: the checkpoint was edited or damaged.
            throw new InvalidDataException($"The training position (epoch {_state.Epoch}, batch {_state.BatchInEpoch} of {stepsPerEpoch}, step {Steps}) does not fit {n} examples in batches of {batch}: epoch × batches per epoch + batch must equal the step count.");
        }
        long totalSteps = (long)Options.Epochs * stepsPerEpoch;
        Augmenter<T>? augmenter = Options.Augmentation is null ? null : new Augmenter<T>(Options.Augmentation, train.ImageRows, train.ImageColumns);
        var full = new NetworkWorkspace<T>(Network, batch);
        NetworkWorkspace<T>? tail = n % batch == 0 ? null : new NetworkWorkspace<T>(Network, n % batch);
        int[] order = new int[n];
        var history = new List<EpochReport>();
        bool early = dev is not null && Options.EarlyStoppingPatience > 0;
        bool stopped = false;
        double rate = Optimizer.LearningRate;
        while (_state.Epoch < Options.Epochs && !stopped)
        {
            FillOrder(order, _state.Epoch);
            for (; _state.BatchInEpoch < stepsPerEpoch; _state.BatchInEpoch++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (Options.CheckpointPath is not null)
                    {
                        SaveCheckpoint(Options.CheckpointPath);
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }

                int start = _state.BatchInEpoch * batch;
                int count = Math.Min(batch, n - start);
                NetworkWorkspace<T> workspace = count == batch ? full : tail!;
                long stepSeed = StepSeed(Options.Seed, Steps);
                workspace.RandomSeed = stepSeed;
                double loss;
                if (augmenter is null)
                {
                    loss = Network.ComputeGradients(train, order.AsSpan(start, count), workspace);
                }
                else
                {
                    // The batch's images, distorted in place, then the step on them.
                    train.CopyBatchTo(order.AsSpan(start, count), workspace.Input, workspace.Labels);
                    // Stryker disable once all : any fixed function of the step's seed draws equally random distortions (~ only keeps them apart from dropout's masks, drawn by another hash of the same seed)
                    augmenter.Apply(workspace.Input, count, ~stepSeed);
                    loss = Network.ComputeGradients(workspace.Input, workspace.Labels, workspace);
                }

                if (!double.IsFinite(loss))
                {
                    throw new TrainingDivergedException(_state.Epoch + 1, Steps, loss);
                }

                rate = Optimizer.LearningRate * Options.Schedule.Factor(_state.Epoch, Steps, totalSteps);
                Optimizer.Step(Network, workspace, rate);
                _state.EpochLossSum += loss * count;
                Steps++;
            }

            double trainLoss = _state.EpochLossSum / n;
            _state.EpochLossSum = 0;
            _state.BatchInEpoch = 0;
            _state.Epoch++;
            ClassificationMetrics? metrics = dev is null ? null : Network.Evaluate(dev);
            bool isBest = false;
            if (metrics is not null)
            {
                if (metrics.Loss < _state.BestLoss)
                {
                    _state.BestLoss = metrics.Loss;
                    _state.BestEpoch = _state.Epoch;
                    _state.BadEpochs = 0;
                    isBest = true;
                    if (early)
                    {
                        // Stryker disable once all : allocating the copy once or per improving epoch holds the same values
                        _state.Best ??= NewParameterCopy();
                        CopyParameters(Network.Parameters, _state.Best);
                    }
                }
                else
                {
                    _state.BadEpochs++;
                    stopped = early && _state.BadEpochs >= Options.EarlyStoppingPatience;
                }
            }

            var report = new EpochReport(_state.Epoch, Options.Epochs, Steps, trainLoss, rate, metrics, isBest, clock.Elapsed);
            history.Add(report);
            if (Options.CheckpointPath is not null)
            {
                SaveCheckpoint(Options.CheckpointPath);
            }

            Options.Progress?.Report(report);
        }

        if (early && _state.Best is not null)
        {
            for (int p = 0; p < _state.Best.Length; p++)
            {
                _state.Best[p].CopyTo(Network.Parameters[p].Value);
            }
        }

        return new TrainingResult(_state.Epoch, Steps, stopped, _state.BestEpoch, _state.BestEpoch == 0 ? double.NaN : _state.BestLoss, clock.Elapsed, history);
    }

    /// <summary>
    /// Writes a checkpoint: the network (loadable as a model too), the optimiser and its state, the position in training
    /// (epoch, batch, step), the shuffle seed and the early-stopping state. Written atomically.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public void SaveCheckpoint(string path) => Checkpoint.Save(this, path);

    /// <summary>The seed of step <paramref name="step"/>'s random layers (dropout): a function of the run's seed and the step only, so a resumed run draws the same masks.</summary>
    internal static long StepSeed(long seed, long step) => unchecked((seed * -7046029254386353131L) + step);

    private void FillOrder(int[] order, int epoch) => EpochOrder(Options.Seed, Options.Shuffle, epoch, order);

    /// <summary>The order of the examples in epoch <paramref name="epoch"/>: 0, 1, 2, … shuffled by a generator seeded with (seed, epoch) only, so a resumed run draws the same batches.</summary>
    internal static void EpochOrder(long seed, bool shuffle, int epoch, Span<int> order)
    {
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        if (shuffle)
        {
            var random = new Prng(unchecked(seed + ((epoch + 1) * (long)0x9E3779B97F4A7C15)));
            // Stryker disable once Equality : a last swap of element 0 with itself changes nothing (each epoch has its own generator)
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = random.NextInt32(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
    }

    private void CheckData(Dataset data, string name)
    {
        if (data.PixelsPerImage != Network.Inputs)
        {
            throw new ArgumentException($"The network has {Network.Inputs} inputs, but the images have {data.PixelsPerImage} pixels.", name);
        }

        if (!data.HasLabels)
        {
            throw new ArgumentException("Training needs labelled images.", name);
        }

        if (data.Count == 0)
        {
            throw new ArgumentException("The dataset is empty.", name);
        }
    }

    internal Matrix<T>[] NewParameterCopy() => [.. Network.Parameters.Select(p => new Matrix<T>(p.Value.Rows, p.Value.Columns))];

    private static void CopyParameters(IReadOnlyList<Parameter<T>> parameters, Matrix<T>[] destination)
    {
        for (int p = 0; p < parameters.Count; p++)
        {
            parameters[p].Value.CopyTo(destination[p]);
        }
    }
}
