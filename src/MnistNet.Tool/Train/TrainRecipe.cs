using System.Diagnostics;
using System.Globalization;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Serialization;
using MnistNet.Training;

namespace MnistNet.Train;

/// <summary>How a training run shows itself: plain lines (the sample, redirected output) or live progress bars (the tool on a terminal).</summary>
internal interface ITrainingDisplay
{
    /// <summary>A line of information (data, network, results).</summary>
    void Line(string text);

    /// <summary>Training starts: <paramref name="total"/> iterations or epochs (<paramref name="unit"/>).</summary>
    void Begin(string unit, int total);

    /// <summary>A full-batch progress report (the seed recipe, every 10 iterations and the last).</summary>
    void Iteration(TrainingProgress progress);

    /// <summary>An epoch ended (mini-batch training).</summary>
    void Epoch(EpochReport report);

    /// <summary>Training ended (or stopped).</summary>
    void End();
}

/// <summary>The sample's output: one line per report, as the seed's notebook prints.</summary>
internal sealed class PlainDisplay(TextWriter output) : ITrainingDisplay
{
    public void Line(string text) => output.WriteLine(text);

    public void Begin(string unit, int total)
    {
    }

    public void Iteration(TrainingProgress progress) =>
        output.WriteLine($"Iteration {progress.Iteration,4}: accuracy {progress.Accuracy:F4}, loss {progress.Loss:F4}");

    public void Epoch(EpochReport value)
    {
        string dev = value.Dev is null ? string.Empty : $", dev loss {value.Dev.Loss:F4} accuracy {value.Dev.Accuracy:F4}{(value.IsBest ? " *" : string.Empty)}";
        output.WriteLine($"epoch {value.Epoch}/{value.Epochs}: train loss {value.TrainLoss:F4}{dev}, lr {value.LearningRate:G3}, {value.Elapsed.TotalSeconds:F2} s");
    }

    public void End()
    {
    }
}

/// <summary>
/// The training recipes behind the Train sample and <c>mnistnet train</c>: the seed's (784-10-10, full batch) and the
/// mini-batch presets, with the same options, checks, output and exit codes (0 done, 1 data or I/O, 2 usage, 130 Ctrl+C).
/// </summary>
internal static class TrainRecipe
{
    /// <summary>Parses <paramref name="args"/>, trains, reports; returns the exit code. Never throws for bad input.</summary>
    /// <param name="args">The training options.</param>
    /// <param name="command">How the user ran it, for the help text.</param>
    /// <param name="output">Where help goes.</param>
    /// <param name="error">Where errors go (one line each).</param>
    /// <param name="display">Creates the display once the options are known.</param>
    /// <param name="writeHistory">With <c>--save</c>, also write the per-epoch history next to the model (<see cref="TrainingHistory.PathFor"/>).</param>
    public static int Run(string[] args, string command, TextWriter output, TextWriter error, Func<ITrainingDisplay> display, bool writeHistory)
    {
        TrainOptions options;
        try
        {
            options = TrainOptions.Parse(args);
        }
        catch (UsageException ex)
        {
            error.WriteLine($"error: {ex.Message}");
            return 2;
        }

        if (options.ShowHelp)
        {
            output.WriteLine(TrainOptions.Usage(command));
            return 0;
        }

        try
        {
            return Train(options, display(), writeHistory);
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("stopped (Ctrl+C)" + (options.CheckpointPath is null ? "." : $"; checkpoint in {options.CheckpointPath}, continue with --resume {options.CheckpointPath}"));
            return 130;
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or TrainingDivergedException or NotSupportedException)
        {
            error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    private static int Train(TrainOptions options, ITrainingDisplay display, bool writeHistory)
    {
        // Nothing is lost: every output path is checked before any work starts.
        string? historyPath = writeHistory && options.SavePath is not null ? TrainingHistory.PathFor(options.SavePath) : null;
        foreach (string? output in new[] { options.SavePath, options.CheckpointPath, historyPath })
        {
            if (output is not null)
            {
                AtomicFile.CheckWritable(output);
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
            string folder = options.DataFolder ?? DataFolders.FindDefault();
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
        display.Line($"data: {source}: {train.Count} train, {dev.Count} dev{(test is null ? string.Empty : $", {test.Count} test")}, {classes} classes");
        var history = historyPath is null ? null : new TrainingHistory { Data = source, Seed = options.Seed };
        return options.MiniBatch
            ? RunMiniBatch(options, train, dev, test, classes, display, history, historyPath)
            : RunSeed(options, train, dev, test, classes, display, history, historyPath);
    }

    private static int RunSeed(TrainOptions options, Dataset train, Dataset dev, Dataset? test, int classes, ITrainingDisplay display, TrainingHistory? history, string? historyPath)
    {
        display.Line($"network: {train.PixelsPerImage}-{options.Hidden}-{classes}, alpha {options.Alpha}, {options.Iterations} iterations, seed {options.Seed}, " +
                     $"{MnistNetRuntime.MaxDegreeOfParallelism} thread(s), {MnistNetRuntime.EffectiveSimdPath}");

        var xTrain = train.Pixels<float>();
        var xDev = dev.Count == 0 ? null : dev.Pixels<float>();
        var network = new TwoLayerNetwork<float>(inputs: train.PixelsPerImage, hidden: options.Hidden, outputs: classes, seed: options.Seed);

        display.Begin("iterations", options.Iterations);
        var stopwatch = Stopwatch.StartNew();

        // When the first iteration (with the sparse copy, the first compilations and the first report) ended: the
        // iterations after it are what numpy's and PyTorch's timings measure (they exclude warm-up iterations).
        TimeSpan? firstIterationEnd = null;
        try
        {
            network.GradientDescent(
                xTrain,
                train.Labels,
                options.Alpha,
                options.Iterations,
                progress: p =>
                {
                    if (p.Iteration == 0)
                    {
                        firstIterationEnd = stopwatch.Elapsed;
                    }

                    display.Iteration(p);
                    if (history is not null)
                    {
                        // One pass over the dev set gives both its loss and its accuracy.
                        MnistNet.Diagnostics.ClassificationMetrics? devMetrics = xDev is null ? null : network.Network.Evaluate(dev);
                        history.Points.Add(new HistoryPoint(p.Iteration + 1, p.Loss, p.Accuracy, devMetrics?.Loss, devMetrics?.Accuracy, stopwatch.Elapsed.TotalSeconds));
                    }
                },
                progressInterval: 10);
        }
        finally
        {
            display.End();
        }

        stopwatch.Stop();
        double msPerIteration = options.Iterations == 0 ? 0 : stopwatch.Elapsed.TotalMilliseconds / options.Iterations;

        double trainAccuracy = network.GetAccuracy(xTrain, train.Labels);
        double devAccuracy = xDev is null ? double.NaN : network.GetAccuracy(xDev, dev.Labels);
        double? testAccuracy = test is null ? null : network.GetAccuracy(test.Pixels<float>(), test.Labels);

        Dataset shown = test ?? dev;
        if (shown.Count > 0)
        {
            Dataset sample = shown.Slice(0, Math.Min(4, shown.Count));
            int[] predictions = network.Predict(sample.Pixels<float>());
            display.Line(string.Empty);
            display.Line($"First {sample.Count} {(test is null ? "dev" : "test")} images:");
            display.Line(AsciiArt.SideBySide(sample, predictions).TrimEnd('\n', '\r'));
        }

        string testPart = testAccuracy is double t ? $" test {t:F4}" : string.Empty;
        if (firstIterationEnd is TimeSpan first && options.Iterations > 1)
        {
            double afterFirst = (stopwatch.Elapsed - first).TotalMilliseconds / (options.Iterations - 1);
            display.Line($"timing: first iteration {first.TotalMilliseconds:F1} ms (with the one-time sparse copy and compilation), then {afterFirst:F2} ms/iteration");
        }

        display.Line($"result: train {trainAccuracy:F4}{DevPart(devAccuracy)}{testPart} | {options.Iterations} iterations, {msPerIteration:F2} ms/iteration");
        if (options.SavePath is not null)
        {
            network.ToDenseNetwork().Save(options.SavePath);
            display.Line($"saved: {options.SavePath}");
            if (history is not null && historyPath is not null)
            {
                history.Unit = "iteration";
                history.Architecture = network.Network.Architecture;
                history.Settings = $"seed recipe: full batch, alpha {options.Alpha.ToString(CultureInfo.InvariantCulture)}, {options.Iterations} iterations";
                history.Finish(trainAccuracy, devAccuracy, testAccuracy, stopwatch.Elapsed.TotalSeconds);
                history.Save(historyPath);
                display.Line($"history: {historyPath}");
            }
        }

        return 0;
    }

    /// <summary>The layers of <c>--preset best</c>: 784-1024-512-10 with dropout.</summary>
    internal const string BestPreset = "dense1024,dropout0.2,dense512,dropout0.2";

    /// <summary>" dev 0.9850" for the result line, or nothing when no examples were held out (--dev 0: NaN).</summary>
    private static string DevPart(double devAccuracy) =>
        double.IsNaN(devAccuracy) ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" dev {devAccuracy:F4}");

    /// <summary>The layers of <c>--preset cnn</c>.</summary>
    internal const string CnnPreset = "conv32k5,pool,conv64k5,pool,dense256,dropout0.5";

    private static int RunMiniBatch(TrainOptions options, Dataset train, Dataset dev, Dataset? test, int classes, ITrainingDisplay display, TrainingHistory? history, string? historyPath)
    {
        // The presets; every explicit option overrides its value.
        bool best = options.Preset == "best";
        bool cnn = options.Preset == "cnn";
        int[] hidden = options.Layers ?? [256];
        string? arch = options.Arch ?? (options.Layers is not null ? null : cnn ? CnnPreset : best ? BestPreset : null);
        int epochs = options.Epochs ?? (best ? 30 : cnn ? 9 : 7);
        Augmentation? augment = options.AugmentOff ? null : options.Augment ?? (cnn || best ? Augmentation.Default : null);
        int batch = options.Batch ?? 128;
        string optimizerName = options.Optimizer ?? "adam";
        double rate = options.LearningRate ?? (best ? 0.001 : 0.002) * (optimizerName is "adam" or "adamw" or "rmsprop" ? 1 : 25);
        LearningRateSchedule schedule = (options.Schedule ?? "cosine") switch
        {
            "constant" => LearningRateSchedule.Constant,
            "step" => LearningRateSchedule.StepDecay(5, 0.5),
            _ => LearningRateSchedule.Cosine(),
        };

        // Per-epoch train accuracy for the history is measured on a fixed sample of up to 10 000 training images.
        Dataset trainSample = train.Slice(0, Math.Min(10_000, train.Count));
        Network<float>? network = null;
        var trainingOptions = new TrainingOptions
        {
            Epochs = epochs,
            BatchSize = batch,
            Seed = options.Seed,
            Schedule = schedule,
            EarlyStoppingPatience = options.Patience ?? 0,
            CheckpointPath = options.CheckpointPath,
            Augmentation = augment,
            Progress = new EpochSink(report =>
            {
                display.Epoch(report);
                if (history is not null && network is not null)
                {
                    double trainAccuracy = network.Evaluate(trainSample).Accuracy;
                    history.Points.Add(new HistoryPoint(report.Epoch, report.TrainLoss, trainAccuracy, report.Dev?.Loss, report.Dev?.Accuracy, report.Elapsed.TotalSeconds));
                }
            }),
        };

        Trainer<float> trainer;
        if (options.ResumePath is not null)
        {
            trainer = Trainer<float>.Resume(options.ResumePath, trainingOptions);
            display.Line($"resumed: {options.ResumePath} after epoch {trainer.CompletedEpochs} (step {trainer.Steps})");
        }
        else
        {
            Network<float> created;
            Initialization init = options.Init switch
            {
                "glorot" => Initialization.Glorot,
                "fan-in" => Initialization.FanInUniform,
                _ => Initialization.He,
            };
            if (arch is not null)
            {
                try
                {
                    created = NetworkSpec.Build<float>(arch, 1, train.ImageRows, train.ImageColumns, classes, init, options.Seed);
                }
                catch (FormatException e)
                {
                    throw new UsageException($"option --arch: {e.Message}");
                }
            }
            else
            {
                int[] sizes = [train.PixelsPerImage, .. hidden, classes];
                created = new DenseNetwork<float>(sizes, init, options.Seed);
            }

            Optimizer<float> optimizer = Optimizers.Create<float>(optimizerName, rate);
            trainer = new Trainer<float>(created, optimizer, trainingOptions);
        }

        network = trainer.Network;
        string augmentation = augment is null ? string.Empty : augment.ElasticAlpha > 0 ? ", augmented (elastic)" : ", augmented";
        string settings = $"{trainer.Optimizer.Name} lr {trainer.Optimizer.LearningRate.ToString(CultureInfo.InvariantCulture)}, batch {batch}, {schedule.Name} schedule, {epochs} epochs{augmentation}{(options.Init is null ? string.Empty : $", init {options.Init}")}";
        display.Line($"network: {network.Architecture} ({network.ParameterCount} parameters), {settings}, seed {options.Seed}, " +
                     $"{MnistNetRuntime.MaxDegreeOfParallelism} thread(s), {MnistNetRuntime.EffectiveSimdPath}");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        TrainingResult result;
        display.Begin("epochs", epochs);
        try
        {
            result = trainer.Fit(train, dev.Count == 0 ? null : dev, cancel.Token);
        }
        finally
        {
            display.End();
            Console.CancelKeyPress -= onCancel;
        }

        if (result.StoppedEarly)
        {
            display.Line($"early stopping: best dev loss {result.BestDevLoss:F4} in epoch {result.BestEpoch}, its parameters restored");
        }

        double trainAccuracyFinal = network.Evaluate(train).Accuracy;
        double devAccuracy = dev.Count == 0 ? double.NaN : network.Evaluate(dev).Accuracy;
        string testPart = string.Empty;
        double? testAccuracy = null;
        if (test is not null)
        {
            var metrics = network.Evaluate(test);
            display.Line(string.Empty);
            display.Line("test set:");
            display.Line(metrics.ToString().TrimEnd('\n', '\r'));
            testPart = $" test {metrics.Accuracy:F4}";
            testAccuracy = metrics.Accuracy;
        }

        if (options.SavePath is not null)
        {
            network.Save(options.SavePath);
            display.Line($"saved: {options.SavePath}");
            if (history is not null && historyPath is not null)
            {
                history.Unit = "epoch";
                history.Architecture = network.Architecture;
                history.Settings = settings;
                history.Finish(trainAccuracyFinal, devAccuracy, testAccuracy, result.Elapsed.TotalSeconds);
                history.Save(historyPath);
                display.Line($"history: {historyPath}");
            }
        }

        display.Line($"result: train {trainAccuracyFinal:F4}{DevPart(devAccuracy)}{testPart} | {result.Epochs} epochs, {result.Elapsed.TotalSeconds:F2} s training");
        return 0;
    }

    /// <summary>Reports each epoch on the training thread as it ends (unlike Progress&lt;T&gt;, which posts to the thread pool).</summary>
    private sealed class EpochSink(Action<EpochReport> report) : IProgress<EpochReport>
    {
        public void Report(EpochReport value) => report(value);
    }
}

/// <summary>Where the bundled data is when no --data or --csv is given.</summary>
internal static class DataFolders
{
    /// <summary>The first data/mnist folder in the current directory or above it, or beside or above the program.</summary>
    /// <exception cref="DirectoryNotFoundException">None is found.</exception>
    public static string FindDefault()
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
}
