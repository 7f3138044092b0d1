using System.Globalization;
using System.Numerics;
using MnistNet.Data;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;
using MnistNet.Networks;
using MnistNet.Training;

namespace MnistNet.Serialization;

/// <summary>
/// Checkpoint files: a model file (it loads as a model too) with the optimiser's name, settings, step count and state
/// tensors (<c>optimizer.{k}.{p}</c>), the position in training (epoch, batch, step), the shuffle seed, the training-set
/// size and the early-stopping state (best parameters as <c>best.{p}</c>), all covered by the file's checksum.
/// <see cref="Trainer{T}"/> is the loop; this is the file.
/// </summary>
public static class Checkpoint
{
    private const string Prefix = "mnistnet.";

    /// <summary>
    /// Writes a checkpoint of <paramref name="trainer"/>: the network, the optimiser and its state, the position in
    /// training (epoch, batch, step), the shuffle seed and the early-stopping state. Written atomically.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="trainer">The trainer.</param>
    /// <param name="path">The file to write.</param>
    /// <exception cref="ArgumentNullException"><paramref name="trainer"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="IOException">The file cannot be written; any previous file is left as it was.</exception>
    public static void Save<T>(Trainer<T> trainer, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(trainer);
        TrainingState<T> state = trainer.State;
        Optimizer<T> optimizer = trainer.Optimizer;
        Network<T> network = trainer.Network;
        CultureInfo inv = CultureInfo.InvariantCulture;
        var meta = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [Prefix + "kind"] = "checkpoint",
            [Prefix + "optimizer"] = optimizer.Name,
            [Prefix + "learning_rate"] = optimizer.LearningRate.ToString(inv),
            [Prefix + "optimizer_steps"] = optimizer.Steps.ToString(inv),
            [Prefix + "epoch"] = state.Epoch.ToString(inv),
            [Prefix + "batch_in_epoch"] = state.BatchInEpoch.ToString(inv),
            [Prefix + "steps"] = state.Steps.ToString(inv),
            [Prefix + "epoch_loss_sum"] = state.EpochLossSum.ToString(inv),
            [Prefix + "seed"] = trainer.Options.Seed.ToString(inv),
            [Prefix + "batch_size"] = trainer.Options.BatchSize.ToString(inv),
            [Prefix + "train_count"] = state.TrainCount.ToString(inv),
            [Prefix + "best_loss"] = state.BestLoss.ToString(inv),
            [Prefix + "best_epoch"] = state.BestEpoch.ToString(inv),
            [Prefix + "bad_epochs"] = state.BadEpochs.ToString(inv),
        };
        foreach ((string key, string value) in optimizer.Settings())
        {
            meta[Prefix + "optimizer." + key] = value;
        }

        var extra = new List<(string Name, Matrix<T> Value)>();
        int count = network.Parameters.Count;
        for (int k = 0; k < optimizer.StateCount; k++)
        {
            for (int p = 0; p < count; p++)
            {
                extra.Add(($"optimizer.{k}.{p}", optimizer.State(network, k, p)));
            }
        }

        if (state.Best is not null)
        {
            for (int p = 0; p < count; p++)
            {
                extra.Add(($"best.{p}", state.Best[p]));
            }
        }

        ModelFile.Write(network, path, meta, extra);
    }

    /// <summary>
    /// Restores a trainer from a checkpoint written by <see cref="Save"/>: the network, the optimiser (created through
    /// <see cref="Optimizers"/> from its name and settings) and its state, the epoch and step, and the early-stopping state.
    /// </summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="options">The options of the continued run; seed and batch size must be those of the checkpoint.</param>
    /// <returns>The trainer.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid MnistNet checkpoint.</exception>
    /// <exception cref="ArgumentException">The options' seed or batch size differ from the checkpoint's.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static Trainer<T> Load<T>(string path, TrainingOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(options);
        SafeTensors file = SafeTensors.Read(path);
        IReadOnlyDictionary<string, string> meta = file.Metadata;
        if (!meta.TryGetValue(Prefix + "kind", out string? kind) || kind != "checkpoint")
        {
            throw DataErrors.InHeader(path, "not a MnistNet checkpoint (no mnistnet.kind = checkpoint in the metadata); a model file loads with DenseNetwork<T>.Load.");
        }

        Network<T> network = ModelFile.ReadAnyNetwork<T>(file);
        Optimizer<T> optimizer = CreateOptimizer<T>(path, meta);
        long seed = Long(path, meta, "seed");
        int batch = Int(path, meta, "batch_size");
        if (seed != options.Seed || batch != options.BatchSize)
        {
            throw new ArgumentException($"The checkpoint was made with seed {seed} and batch size {batch}; resume with the same (got seed {options.Seed}, batch size {options.BatchSize}).", nameof(options));
        }

        var trainer = new Trainer<T>(network, optimizer, options);
        TrainingState<T> state = trainer.State;
        state.Epoch = Int(path, meta, "epoch");
        state.BatchInEpoch = Int(path, meta, "batch_in_epoch");
        state.EpochLossSum = Double(path, meta, "epoch_loss_sum");
        state.BestLoss = Double(path, meta, "best_loss");
        state.BestEpoch = Int(path, meta, "best_epoch");
        state.BadEpochs = Int(path, meta, "bad_epochs");
        state.Steps = NonNegative(path, "steps", Long(path, meta, "steps"));
        state.TrainCount = meta.ContainsKey(Prefix + "train_count") ? Int(path, meta, "train_count") : 0;

        // Every field in its range (the checksum covers the metadata, so these catch files written by other tools or
        // edited with the checksum recomputed); the position itself is checked against the data by Fit.
        if (!double.IsFinite(state.EpochLossSum) || state.EpochLossSum < 0)
        {
            throw DataErrors.InHeader(path, $"the checkpoint's {Prefix}epoch_loss_sum is {Text(state.EpochLossSum)}; expected a finite sum of losses ≥ 0.");
        }

        if (!(state.BestLoss >= 0))
        {
            throw DataErrors.InHeader(path, $"the checkpoint's {Prefix}best_loss is {Text(state.BestLoss)}; expected a loss ≥ 0 (or Infinity before the first evaluation).");
        }

        if (state.BestEpoch > state.Epoch || state.BadEpochs > state.Epoch)
        {
            string key = state.BestEpoch > state.Epoch ? "best_epoch" : "bad_epochs";
            int value = state.BestEpoch > state.Epoch ? state.BestEpoch : state.BadEpochs;
            throw DataErrors.InHeader(path, $"the checkpoint's {Prefix}{key} is {value}, after its epoch {state.Epoch}.");
        }

        optimizer.RestoreSteps(NonNegative(path, "optimizer_steps", Long(path, meta, "optimizer_steps")));
        IReadOnlyList<Parameter<T>> parameters = network.Parameters;
        for (int k = 0; k < optimizer.StateCount; k++)
        {
            for (int p = 0; p < parameters.Count; p++)
            {
                ReadTensor(file, $"optimizer.{k}.{p}", optimizer.State(network, k, p));
            }
        }

        if (file.Find("best.0") is not null)
        {
            state.Best = trainer.NewParameterCopy();
            for (int p = 0; p < parameters.Count; p++)
            {
                ReadTensor(file, $"best.{p}", state.Best[p]);
            }
        }

        return trainer;
    }

    private static Optimizer<T> CreateOptimizer<T>(string path, IReadOnlyDictionary<string, string> meta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string name = meta.TryGetValue(Prefix + "optimizer", out string? n) ? n : throw DataErrors.InHeader(path, "the checkpoint names no optimizer.");
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
            throw DataErrors.InHeader(path, $"the checkpoint's optimizer \"{name}\" is unknown; known: {string.Join(", ", Optimizers.Names)} (register others with Optimizers.Register).");
        }
        catch (FormatException ex)
        {
            throw DataErrors.InHeader(path, $"the checkpoint's optimizer settings are not valid: {ex.Message}");
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw DataErrors.InHeader(path, $"the checkpoint's optimizer settings are out of range: {ex.Message}");
        }
    }

    private static void ReadTensor<T>(SafeTensors file, string name, Matrix<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorEntry tensor = file.Find(name) ?? throw DataErrors.InHeader(file.Source, $"the checkpoint has no tensor \"{name}\".");
        if (tensor.Shape.Length != 2 || tensor.Shape[0] != destination.Rows || tensor.Shape[1] != destination.Columns)
        {
            throw DataErrors.AtOffset(file.Source, 8, $"tensor \"{name}\" must have shape [{destination.Rows}, {destination.Columns}], found [{string.Join(", ", tensor.Shape)}].");
        }

        ModelFile.ReadMatrix<T>(file, tensor, destination.Rows, destination.Columns).CopyTo(destination);
    }

    private static long Long(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(Prefix + key, out string? text) && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value)
            ? value
            : throw DataErrors.InHeader(path, $"the checkpoint's metadata has no integer {Prefix + key}.");

    private static int Int(string path, IReadOnlyDictionary<string, string> meta, string key)
    {
        long value = NonNegative(path, key, Long(path, meta, key));
        return value <= int.MaxValue ? (int)value : throw DataErrors.InHeader(path, $"the checkpoint's {Prefix + key} is {value}, too large.");
    }

    private static long NonNegative(string path, string key, long value) =>
        value >= 0 ? value : throw DataErrors.InHeader(path, $"the checkpoint's {Prefix + key} is {value}; expected a value ≥ 0.");

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static double Double(string path, IReadOnlyDictionary<string, string> meta, string key) =>
        meta.TryGetValue(Prefix + key, out string? text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value
            : throw DataErrors.InHeader(path, $"the checkpoint's metadata has no number {Prefix + key}.");
}
