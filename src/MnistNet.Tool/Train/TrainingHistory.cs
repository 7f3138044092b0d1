using System.Text.Json;
using System.Text.Json.Serialization;
using MnistNet.Serialization;

namespace MnistNet.Train;

/// <summary>One row of a training history: after <see cref="Step"/> epochs (or iterations, for the seed recipe).</summary>
/// <param name="Step">Epochs (or iterations) completed.</param>
/// <param name="TrainLoss">Mean training loss.</param>
/// <param name="TrainAccuracy">Training accuracy (mini-batch runs: on up to 10 000 training images).</param>
/// <param name="DevLoss">Dev loss, when there is a dev set.</param>
/// <param name="DevAccuracy">Dev accuracy, when there is a dev set.</param>
/// <param name="Seconds">Training time so far.</param>
internal sealed record HistoryPoint(int Step, double TrainLoss, double TrainAccuracy, double? DevLoss, double? DevAccuracy, double Seconds);

/// <summary>What <c>mnistnet train --save model.safetensors</c> writes beside the model (<c>model.history.json</c>), for <c>mnistnet report</c>.</summary>
internal sealed class TrainingHistory
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Gets or sets the data source.</summary>
    public string Data { get; set; } = string.Empty;

    /// <summary>Gets or sets the seed.</summary>
    public long Seed { get; set; }

    /// <summary>Gets or sets the network's architecture.</summary>
    public string Architecture { get; set; } = string.Empty;

    /// <summary>Gets or sets the optimiser, learning rate, batch and schedule, in words.</summary>
    public string Settings { get; set; } = string.Empty;

    /// <summary>Gets or sets what <see cref="HistoryPoint.Step"/> counts: "epoch" or "iteration".</summary>
    public string Unit { get; set; } = "epoch";

    /// <summary>Gets the rows, in order.</summary>
    public List<HistoryPoint> Points { get; init; } = [];

    /// <summary>Gets or sets the final training accuracy (whole training set).</summary>
    public double FinalTrainAccuracy { get; set; }

    /// <summary>Gets or sets the final dev accuracy (NaN without a dev set).</summary>
    public double FinalDevAccuracy { get; set; }

    /// <summary>Gets or sets the final test accuracy, when there is a test set.</summary>
    public double? FinalTestAccuracy { get; set; }

    /// <summary>Gets or sets the training time in seconds.</summary>
    public double TrainingSeconds { get; set; }

    /// <summary>The history file beside a model file: <c>model.safetensors</c> → <c>model.history.json</c>.</summary>
    public static string PathFor(string modelPath) => Path.ChangeExtension(modelPath, null) + ".history.json";

    /// <summary>Records the final figures.</summary>
    public void Finish(double train, double dev, double? test, double seconds)
    {
        FinalTrainAccuracy = train;
        FinalDevAccuracy = dev;
        FinalTestAccuracy = test;
        TrainingSeconds = seconds;
    }

    /// <summary>Writes the history atomically.</summary>
    public void Save(string path) => AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, this, Json));

    /// <summary>Reads a history written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a training history; the message names it.</exception>
    public static TrainingHistory Load(string path)
    {
        try
        {
            using FileStream stream = File.OpenRead(path);
            return JsonSerializer.Deserialize<TrainingHistory>(stream, Json) ?? throw new InvalidDataException($"{path}: empty training history.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{path}: not a training history written by mnistnet train ({ex.Message}).", ex);
        }
    }
}
