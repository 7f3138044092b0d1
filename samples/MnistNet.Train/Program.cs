using System.Diagnostics;
using System.Globalization;
using System.Text;
using MnistNet;
using MnistNet.Data;
using MnistNet.Networks;
using MnistNet.Train;

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
catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException or ArgumentException or TrainingDivergedException)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    return 1;
}

static int Run(TrainOptions options)
{
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
    Console.WriteLine($"data: {source}: {train.Count} train, {dev.Count} dev{(test is null ? string.Empty : $", {test.Count} test")}");
    Console.WriteLine($"network: {train.PixelsPerImage}-{options.Hidden}-10, alpha {options.Alpha}, {options.Iterations} iterations, seed {options.Seed}, " +
                      $"{MnistNetRuntime.MaxDegreeOfParallelism} thread(s), {MnistNetRuntime.EffectiveSimdPath}");

    var xTrain = train.Pixels<float>();
    var network = new TwoLayerNetwork<float>(inputs: train.PixelsPerImage, hidden: options.Hidden, outputs: 10, seed: options.Seed);

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
