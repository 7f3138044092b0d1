using System.Diagnostics;
using System.Globalization;
using System.Text;
using MnistNet;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Train;
using MnistNet.Training;

// The seed's recipe, end to end: shuffle (seed 0), hold out 1 000 examples as dev, train 784-10-10 with
// α = 0.10 for 500 full-batch iterations, report accuracy like the blog post, show a few predictions.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;

TrainOptions options;
try
{
    options = TrainOptions.Parse(args);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(TrainOptions.Usage);
    return 0;
}

try
{
    return Run(options);
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("stopped (Ctrl+C)" + (options.CheckpointPath is null ? "." : $"; checkpoint in {options.CheckpointPath}, continue with --resume {options.CheckpointPath}"));
    return 130;
}
catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or TrainingDivergedException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

static int Run(TrainOptions options)
{
    // Nothing is lost: every output path is checked before any work starts.
    foreach (string? output in new[] { options.SavePath, options.CheckpointPath })
    {
        if (output is not null)
        {
            MnistNet.Serialization.AtomicFile.CheckWritable(output);
        }
    }

    if (options.Threads is int threads)
    {
        MnistNetRuntime.MaxDegreeOfParallelism = threads;
    }

    Dataset all;
    Dataset? test;
    string source;
    if (options.CsvFile is not null)
    {
        all = KaggleCsv.ReadTrain(options.CsvFile);
        test = null;
        source = options.CsvFile;
    }
    else
    {
        string folder = options.DataFolder ?? FindDefaultDataFolder();
        MnistDataset mnist = MnistDataset.Load(folder);
        all = mnist.Train;
        test = mnist.Test;
        source = folder;
    }

    if (options.DevCount >= all.Count)
    {
        throw new ArgumentException($"--dev {options.DevCount} leaves no training examples: the data has {all.Count}.");
    }

    (Dataset train, Dataset dev) = all.Split(options.DevCount, options.Seed);

    // The number of classes comes from the data: 10 for MNIST, 27 for EMNIST letters (labels 1–26), 47 for EMNIST balanced.
    int classes = Math.Max(all.ClassCount, test?.ClassCount ?? 0);
    Console.WriteLine($"data: {source}: {train.Count} train, {dev.Count} dev{(test is null ? string.Empty : $", {test.Count} test")}, {classes} classes");
    if (options.MiniBatch)
    {
        return RunMiniBatch(options, train, dev, test, classes);
    }

    Console.WriteLine($"network: {train.PixelsPerImage}-{options.Hidden}-{classes}, alpha {options.Alpha}, {options.Iterations} iterations, seed {options.Seed}, " +
                      $"{MnistNetRuntime.MaxDegreeOfParallelism} thread(s), {MnistNetRuntime.EffectiveSimdPath}");

    var xTrain = train.Pixels<float>();
    var network = new TwoLayerNetwork<float>(inputs: train.PixelsPerImage, hidden: options.Hidden, outputs: classes, seed: options.Seed);

    var stopwatch = Stopwatch.StartNew();
    network.GradientDescent(
        xTrain,
        train.Labels,
        options.Alpha,
        options.Iterations,
        progress: p => Console.WriteLine($"Iteration {p.Iteration,4}: accuracy {p.Accuracy:F4}, loss {p.Loss:F4}"),
        progressInterval: 10);
    stopwatch.Stop();
    double msPerIteration = options.Iterations == 0 ? 0 : stopwatch.Elapsed.TotalMilliseconds / options.Iterations;

    double trainAccuracy = network.GetAccuracy(xTrain, train.Labels);
    double devAccuracy = dev.Count == 0 ? double.NaN : network.GetAccuracy(dev.Pixels<float>(), dev.Labels);
    double? testAccuracy = test is null ? null : network.GetAccuracy(test.Pixels<float>(), test.Labels);

    Dataset shown = test ?? dev;
    if (shown.Count > 0)
    {
        Dataset sample = shown.Slice(0, Math.Min(4, shown.Count));
        int[] predictions = network.Predict(sample.Pixels<float>());
        Console.WriteLine();
        Console.WriteLine($"First {sample.Count} {(test is null ? "dev" : "test")} images:");
        Console.Write(AsciiArt.SideBySide(sample, predictions));
    }

    string testPart = testAccuracy is double t ? $" test {t:F4}" : string.Empty;
    Console.WriteLine($"result: train {trainAccuracy:F4} dev {devAccuracy:F4}{testPart} | {options.Iterations} iterations, {msPerIteration:F2} ms/iteration");
    if (options.SavePath is not null)
    {
        network.ToDenseNetwork().Save(options.SavePath);
        Console.WriteLine($"saved: {options.SavePath}");
    }

    return 0;
}

static int RunMiniBatch(TrainOptions options, Dataset train, Dataset dev, Dataset? test, int classes)
{
    // The presets; every explicit option overrides its value.
    bool best = options.Preset == "best";
    int[] hidden = options.Layers ?? (best ? [1024, 512] : [256]);
    int epochs = options.Epochs ?? (best ? 30 : 7);
    int batch = options.Batch ?? 128;
    string optimizerName = options.Optimizer ?? "adam";
    double rate = options.LearningRate ?? (best ? 0.001 : 0.002) * (optimizerName is "adam" or "adamw" or "rmsprop" ? 1 : 25);
    LearningRateSchedule schedule = (options.Schedule ?? "cosine") switch
    {
        "constant" => LearningRateSchedule.Constant,
        "step" => LearningRateSchedule.StepDecay(5, 0.5),
        _ => LearningRateSchedule.Cosine(),
    };
    var trainingOptions = new TrainingOptions
    {
        Epochs = epochs,
        BatchSize = batch,
        Seed = options.Seed,
        Schedule = schedule,
        EarlyStoppingPatience = options.Patience ?? 0,
        CheckpointPath = options.CheckpointPath,
        Progress = new ConsoleProgress(),
    };

    Trainer<float> trainer;
    if (options.ResumePath is not null)
    {
        trainer = Trainer<float>.Resume(options.ResumePath, trainingOptions);
        Console.WriteLine($"resumed: {options.ResumePath} after epoch {trainer.CompletedEpochs} (step {trainer.Steps})");
    }
    else
    {
        int[] sizes = [train.PixelsPerImage, .. hidden, classes];
        var created = new DenseNetwork<float>(sizes, Initialization.He, options.Seed);
        Optimizer<float> optimizer = Optimizers.Create<float>(optimizerName, rate);
        trainer = new Trainer<float>(created, optimizer, trainingOptions);
    }

    Network<float> network = trainer.Network;
    Console.WriteLine($"network: {network.Architecture} ({network.ParameterCount} parameters), {trainer.Optimizer.Name} lr {trainer.Optimizer.LearningRate}, " +
                      $"batch {batch}, {schedule.Name} schedule, {epochs} epochs, seed {options.Seed}, {MnistNetRuntime.MaxDegreeOfParallelism} thread(s), {MnistNetRuntime.EffectiveSimdPath}");

    using var cancel = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        cancel.Cancel();
    };
    TrainingResult result = trainer.Fit(train, dev.Count == 0 ? null : dev, cancel.Token);
    if (result.StoppedEarly)
    {
        Console.WriteLine($"early stopping: best dev loss {result.BestDevLoss:F4} in epoch {result.BestEpoch}, its parameters restored");
    }

    double trainAccuracy = network.Evaluate(train).Accuracy;
    double devAccuracy = dev.Count == 0 ? double.NaN : network.Evaluate(dev).Accuracy;
    string testPart = string.Empty;
    if (test is not null)
    {
        var metrics = network.Evaluate(test);
        Console.WriteLine();
        Console.WriteLine("test set:");
        Console.Write(metrics);
        testPart = $" test {metrics.Accuracy:F4}";
    }

    if (options.SavePath is not null)
    {
        network.Save(options.SavePath);
        Console.WriteLine($"saved: {options.SavePath}");
    }

    Console.WriteLine($"result: train {trainAccuracy:F4} dev {devAccuracy:F4}{testPart} | {result.Epochs} epochs, {result.Elapsed.TotalSeconds:F2} s training");
    return 0;
}

static string FindDefaultDataFolder()
{
    // Works from the repository root (the README's command) and from anywhere below it.
    foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "data", "mnist");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }
    }

    throw new DirectoryNotFoundException("No data/mnist folder found here or above; pass --data <folder> or --csv <file>.");
}

/// <summary>Prints one line per epoch as soon as it ends (on the training thread, unlike Progress&lt;T&gt;).</summary>
internal sealed class ConsoleProgress : IProgress<EpochReport>
{
    public void Report(EpochReport value)
    {
        string dev = value.Dev is null ? string.Empty : $", dev loss {value.Dev.Loss:F4} accuracy {value.Dev.Accuracy:F4}{(value.IsBest ? " *" : string.Empty)}";
        Console.WriteLine($"epoch {value.Epoch}/{value.Epochs}: train loss {value.TrainLoss:F4}{dev}, lr {value.LearningRate:G3}, {value.Elapsed.TotalSeconds:F2} s");
    }
}
