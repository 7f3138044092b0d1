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
    private const string Prefix = "mnistnet.";

    private int _epoch;
    private int _batchInEpoch;
    private double _epochLossSum;
    private double _bestLoss = double.PositiveInfinity;
    private int _bestEpoch;
    private int _badEpochs;
    private Matrix<T>[]? _best;
    private int _trainCount;

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
    public int CompletedEpochs => _epoch;

    /// <summary>Gets the number of optimiser steps since the start of training.</summary>
    public long Steps { get; private set; }

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
    public static Trainer<T> Resume(string path, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        SafeTensors file = SafeTensors.Read(path);
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        if (!meta.TryGetValue(Prefix + "kind", out string? kind) || kind != "checkpoint")
        {
            throw DataErrors.InFile(path, "not a MnistNet checkpoint (no mnistnet.kind = checkpoint in the metadata); a model file loads with DenseNetwork<T>.Load.");
        }

        DenseNetwork<T> network = ModelFile.ReadNetwork<T>(file);
        Optimizer<T> optimizer = CreateOptimizer(path, meta);
        long seed = Long(path, meta, "seed");
        int batch = (int)Long(path, meta, "batch_size");
        if (seed != options.Seed || batch != options.BatchSize)
        {
            throw new ArgumentException($"The checkpoint was made with seed {seed} and batch size {batch}; resume with the same (got seed {options.Seed}, batch size {options.BatchSize}).", nameof(options));
        }

        var trainer = new Trainer<T>(network, optimizer, options)
        {
            _epoch = Int(path, meta, "epoch"),
            _batchInEpoch = Int(path, meta, "batch_in_epoch"),
            _epochLossSum = Double(path, meta, "epoch_loss_sum"),
            _bestLoss = Double(path, meta, "best_loss"),
            _bestEpoch = Int(path, meta, "best_epoch"),
            _badEpochs = Int(path, meta, "bad_epochs"),
            Steps = NonNegative(path, "steps", Long(path, meta, "steps")),
        };
        trainer._trainCount = meta.ContainsKey(Prefix + "train_count") ? Int(path, meta, "train_count") : 0;
        if (trainer._bestEpoch > trainer._epoch || !(trainer._epochLossSum >= 0) || double.IsNaN(trainer._bestLoss))
        {
            throw DataErrors.InFile(path, "the checkpoint's training state is inconsistent (best epoch after the current one, or a negative or NaN loss).");
        }

        optimizer.RestoreSteps(NonNegative(path, "optimizer_steps", Long(path, meta, "optimizer_steps")));
        IReadOnlyList<Parameter<T>> parameters = network.Parameters;
        for (int k = 0; k < optimizer.StateCount; k++)
        {
            for (int p = 0; p < parameters.Count; p++)
            {
                Matrix<T> state = optimizer.State(network, k, p);
                ReadTensor(file, $"optimizer.{k}.{p}", state);
            }
        }

        if (file.Find("best.0") is not null)
        {
            trainer._best = trainer.NewParameterCopy();
            for (int p = 0; p < parameters.Count; p++)
            {
                ReadTensor(file, $"best.{p}", trainer._best[p]);
            }
        }

        return trainer;
    }

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
    public TrainingResult Fit(Dataset train, Dataset? dev = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckData(train, nameof(train));
        if (dev is not null)
        {
            CheckData(dev, nameof(dev));
        }

        var clock = Stopwatch.StartNew();
        int n = train.Count;
        if (_trainCount != 0 && _trainCount != n && (_epoch > 0 || _batchInEpoch > 0))
        {
            throw new ArgumentException($"This training started on {_trainCount} examples; continue it on the same training set (got {n}).", nameof(train));
        }

        _trainCount = n;
        int batch = Options.BatchSize <= 0 || Options.BatchSize >= n ? n : Options.BatchSize;
        int stepsPerEpoch = (n + batch - 1) / batch;
        long totalSteps = (long)Options.Epochs * stepsPerEpoch;
        var full = new NetworkWorkspace<T>(Network, batch);
        NetworkWorkspace<T>? tail = n % batch == 0 ? null : new NetworkWorkspace<T>(Network, n % batch);
        int[] order = new int[n];
        var history = new List<EpochReport>();
        bool early = dev is not null && Options.EarlyStoppingPatience > 0;
        bool stopped = false;
        double rate = Optimizer.LearningRate;
        while (_epoch < Options.Epochs && !stopped)
        {
            FillOrder(order, _epoch);
            for (; _batchInEpoch < stepsPerEpoch; _batchInEpoch++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    if (Options.CheckpointPath is not null)
                    {
                        SaveCheckpoint(Options.CheckpointPath);
                    }

                    cancellationToken.ThrowIfCancellationRequested();
                }

                int start = _batchInEpoch * batch;
                int count = Math.Min(batch, n - start);
                NetworkWorkspace<T> workspace = count == batch ? full : tail!;
                double loss = Network.ComputeGradients(train, order.AsSpan(start, count), workspace);
                if (!double.IsFinite(loss))
                {
                    throw new TrainingDivergedException(_epoch + 1, Steps, loss);
                }

                rate = Optimizer.LearningRate * Options.Schedule.Factor(_epoch, Steps, totalSteps);
                Optimizer.Step(Network, workspace, rate);
                _epochLossSum += loss * count;
                Steps++;
            }

            double trainLoss = _epochLossSum / n;
            _epochLossSum = 0;
            _batchInEpoch = 0;
            _epoch++;
            ClassificationMetrics? metrics = dev is null ? null : Network.Evaluate(dev);
            bool isBest = false;
            if (metrics is not null)
            {
                if (metrics.Loss < _bestLoss)
                {
                    _bestLoss = metrics.Loss;
                    _bestEpoch = _epoch;
                    _badEpochs = 0;
                    isBest = true;
                    if (early)
                    {
                        _best ??= NewParameterCopy();
                        CopyParameters(Network.Parameters, _best);
                    }
                }
                else
                {
                    _badEpochs++;
                    stopped = early && _badEpochs >= Options.EarlyStoppingPatience;
                }
            }

            var report = new EpochReport(_epoch, Options.Epochs, Steps, trainLoss, rate, metrics, isBest, clock.Elapsed);
            history.Add(report);
            if (Options.CheckpointPath is not null)
            {
                SaveCheckpoint(Options.CheckpointPath);
            }

            Options.Progress?.Report(report);
        }

        if (early && _best is not null)
        {
            for (int p = 0; p < _best.Length; p++)
            {
                _best[p].CopyTo(Network.Parameters[p].Value);
            }
        }

        return new TrainingResult(_epoch, Steps, stopped, _bestEpoch, _bestEpoch == 0 ? double.NaN : _bestLoss, clock.Elapsed, history);
    }

    /// <summary>
    /// Writes a checkpoint: the network (loadable as a model too), the optimiser and its state, the position in training
    /// (epoch, batch, step), the shuffle seed and the early-stopping state. Written atomically.
    /// </summary>
    /// <param name="path">The file to write.</param>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CultureInfo inv = CultureInfo.InvariantCulture;
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Prefix + "kind"] = "checkpoint",
            [Prefix + "optimizer"] = Optimizer.Name,
            [Prefix + "learning_rate"] = Optimizer.LearningRate.ToString("R", inv),
            [Prefix + "optimizer_steps"] = Optimizer.Steps.ToString(inv),
            [Prefix + "epoch"] = _epoch.ToString(inv),
            [Prefix + "batch_in_epoch"] = _batchInEpoch.ToString(inv),
            [Prefix + "steps"] = Steps.ToString(inv),
            [Prefix + "epoch_loss_sum"] = _epochLossSum.ToString("R", inv),
            [Prefix + "seed"] = Options.Seed.ToString(inv),
            [Prefix + "batch_size"] = Options.BatchSize.ToString(inv),
            [Prefix + "train_count"] = _trainCount.ToString(inv),
            [Prefix + "best_loss"] = _bestLoss.ToString("R", inv),
            [Prefix + "best_epoch"] = _bestEpoch.ToString(inv),
            [Prefix + "bad_epochs"] = _badEpochs.ToString(inv),
        };
        foreach ((string key, string value) in Optimizer.Settings())
        {
            meta[Prefix + "optimizer." + key] = value;
        }

        var extra = new List<(string Name, Matrix<T> Value, bool Vector)>();
        int count = Network.Parameters.Count;
        for (int k = 0; k < Optimizer.StateCount; k++)
        {
            for (int p = 0; p < count; p++)
            {
                extra.Add(($"optimizer.{k}.{p}", Optimizer.State(Network, k, p), false));
            }
        }

        if (_best is not null)
        {
            for (int p = 0; p < count; p++)
            {
                extra.Add(($"best.{p}", _best[p], false));
            }
        }

        ModelFile.Write(Network, path, meta, extra);
    }

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

    private static Optimizer<T> CreateOptimizer(string path, IReadOnlyDictionary<string, string> meta)
    {
        string name = meta.TryGetValue(Prefix + "optimizer", out string? n) ? n : throw DataErrors.InFile(path, "the checkpoint names no optimizer.");
        double rate = Double(path, meta, "learning_rate");
        const string settingPrefix = Prefix + "optimizer.";
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string value) in meta)
        {
            if (key.StartsWith(settingPrefix, StringComparison.Ordinal))
            {
                settings[key[settingPrefix.Length..]] = value;
            }
        }

        try
        {
            return Optimizers.Create<T>(name, rate, settings);
        }
        catch (KeyNotFoundException)
        {
            throw DataErrors.InFile(path, $"the checkpoint's optimizer \"{name}\" is unknown; known: {string.Join(", ", Optimizers.Names)} (register others with Optimizers.Register).");
        }
        catch (FormatException ex)
        {
            throw DataErrors.InFile(path, $"the checkpoint's optimizer settings are not valid: {ex.Message}");
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw DataErrors.InFile(path, $"the checkpoint's optimizer settings are out of range: {ex.Message}");
        }
    }

    private Matrix<T>[] NewParameterCopy() => [.. Network.Parameters.Select(p => new Matrix<T>(p.Value.Rows, p.Value.Columns))];

    private static void CopyParameters(IReadOnlyList<Parameter<T>> parameters, Matrix<T>[] destination)
    {
        for (int p = 0; p < parameters.Count; p++)
        {
            parameters[p].Value.CopyTo(destination[p]);
        }
    }

    private static void ReadTensor(SafeTensors file, string name, Matrix<T> destination)
    {
        TensorEntry tensor = file.Find(name) ?? throw DataErrors.InFile(file.Source, $"the checkpoint has no tensor \"{name}\".");
        if (tensor.Shape.Length != 2 || tensor.Shape[0] != destination.Rows || tensor.Shape[1] != destination.Columns)
        {
            throw DataErrors.AtOffset(file.Source, 8, $"tensor \"{name}\" must have shape [{destination.Rows}, {destination.Columns}], found [{string.Join(", ", tensor.Shape)}].");
        }

        ModelFile.ReadMatrix<T>(file, tensor, destination.Rows, destination.Columns).CopyTo(destination);
    }

    private static long Long(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(Prefix + key, out string? text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw DataErrors.InFile(path, $"the checkpoint's metadata has no integer {Prefix + key}.");

    private static int Int(string path, IReadOnlyDictionary<string, string> meta, string key)
    {
        long value = NonNegative(path, key, Long(path, meta, key));
        return value <= int.MaxValue ? (int)value : throw DataErrors.InFile(path, $"the checkpoint's {Prefix + key} is {value}, too large.");
    }

    private static long NonNegative(string path, string key, long value) =>
        value >= 0 ? value : throw DataErrors.InFile(path, $"the checkpoint's {Prefix + key} is {value}; expected a value ≥ 0.");

    private static double Double(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(Prefix + key, out string? text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw DataErrors.InFile(path, $"the checkpoint's metadata has no number {Prefix + key}.");
}
